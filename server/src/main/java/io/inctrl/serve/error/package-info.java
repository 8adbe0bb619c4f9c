/**
 * The server's one error model: {@link io.inctrl.serve.error.ServeException} with a status code, a stable reason and
 * an optional retry hint. Core code throws it; each transport (gRPC, REST) translates it in exactly one place.
 */
package io.inctrl.serve.error;
