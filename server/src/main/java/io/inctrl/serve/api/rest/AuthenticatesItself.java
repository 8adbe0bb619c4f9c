package io.inctrl.serve.api.rest;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Marks a resource that authenticates each of its methods itself (with {@code security.Authenticator}), so that
 * {@link ApiKeyFilter} lets its requests pass: a protocol with its own error body (the Open Inference Protocol's
 * {@code {"error": ...}}) or with public endpoints of its own (its health checks).
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.TYPE)
public @interface AuthenticatesItself {}
