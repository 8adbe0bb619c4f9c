package io.inctrl.serve.registry;

/**
 * CDI event fired after a tenant and, by cascade, all its prompt sets and templates were deleted, so the layers that
 * cache tenant data drop it without the tenant service knowing them.
 */
public record TenantDeleted(String tenantId) {}
