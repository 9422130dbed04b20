/* Placeholder: this module's routes arrive with its issue. */
#include "api/module.h"

const struct api_module sites_module = {"sites", NULL, 0, NULL, NULL};
