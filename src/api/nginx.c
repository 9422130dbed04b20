/* Placeholder: this module's routes arrive with its issue. */
#include "api/module.h"

const struct api_module nginx_module = {"nginx", NULL, 0, NULL, NULL};
