package io.inctrl.serve.registry;

/**
 * CDI event fired once by {@link StoreStartup} when the registry database has been reached and migrated, before the
 * replica turns ready: observers do their first store work here (e.g. the bootstrap tenant), never at start. An
 * observer that throws makes the start-up retry the whole step later.
 */
public record StoreReady() {}
