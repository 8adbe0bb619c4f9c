/** Authentication (tenant API keys, admin credential), tenant context and per-tenant quotas for gRPC and REST. */
package io.inctrl.serve.security;
