package io.inctrl.serve.registry;

import io.inctrl.serve.error.Reason;
import io.inctrl.serve.error.ServeException;

/** The naming rule of prompt sets and template sets (one rule, so neither service needs the other). */
final class Names {

    private Names() {}

    /** @return the name without surrounding blanks */
    static String check(String name) {
        String n = name == null ? "" : name.strip();
        if (n.isEmpty() || n.length() > 128) {
            throw ServeException.invalid(Reason.INVALID_NAME, "name must be 1-128 characters");
        }
        return n;
    }
}
