/** Tenant-scoped prompt registry: shots and text encoded once, stored durably, cached in memory, calibrated. */
package io.inctrl.serve.registry;
