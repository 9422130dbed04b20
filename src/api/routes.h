/* Handlers, one file per resource; the table is in routes.c. */
#pragma once

#include "http/server.h"

/* auth.c */
void api_login(struct http_req *r);
void api_logout(struct http_req *r);
void api_auth_status(struct http_req *r);
void api_login_page(struct http_req *r);
/* panel_users.c */
void api_panel_users_list(struct http_req *r);
void api_panel_users_create(struct http_req *r);
void api_panel_users_update(struct http_req *r);
void api_panel_users_delete(struct http_req *r);
/* dashboard.c */
void api_dashboard(struct http_req *r);
void api_system_info(struct http_req *r);
/* pages.c: areas whose API arrives in later issues */
