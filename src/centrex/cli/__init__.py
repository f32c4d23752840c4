"""The ``centrex`` command line: ``serve`` and ``db`` run the server; everything else talks to the API over HTTP."""
