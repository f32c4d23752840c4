"""Pure domain code: identifiers, errors, tenancy and permissions, numbers. Imports nothing of ours."""
