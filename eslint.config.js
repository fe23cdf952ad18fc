// `npm run lint`: ESLint's and typescript-eslint's recommended rules, the
// ones that need no type information (so linting stays quick), with the
// exceptions below.
import js from "@eslint/js";
import { defineConfig } from "eslint/config";
import tseslint from "typescript-eslint";

export default defineConfig(
  { ignores: ["dist/", "coverage/"] },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // A leading underscore says "unused on purpose" (a parameter a callback must take, a field taken out of a rest).
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      // Errors from outside are converted where they enter, and on purpose without their cause: a platform's error can carry a URL with the token in it.
      "preserve-caught-error": "off",
      // The terminal's ANSI escapes are control characters, matched on purpose.
      "no-control-regex": "off",
      // Node's stream callbacks get the stream as `this`; the owner is reached through a named alias.
      "@typescript-eslint/no-this-alias": "off",
      // `let x; … () => x?.y …; x = …`: a closure made before the value exists reads it later.
      "prefer-const": ["error", { ignoreReadBeforeAssign: true }],
    },
  },
  {
    files: ["test/**"],
    // Tests read the fakes' JSON replies field by field.
    rules: { "@typescript-eslint/no-explicit-any": "off" },
  },
);
