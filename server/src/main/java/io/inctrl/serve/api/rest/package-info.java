/** REST admin API (JSON; errors as RFC 7807 problem details) used by the console and operators. */
package io.inctrl.serve.api.rest;
