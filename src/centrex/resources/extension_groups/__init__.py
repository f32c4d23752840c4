"""Extension groups: named sets of extensions (3CX ext groups), and the membership helpers that the group-like
slices share."""
