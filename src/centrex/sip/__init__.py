"""The SIP protocol core: messages, SDP, digest authentication, transactions and dialogs. No I/O: bytes and events
in, messages and actions out; the clock is passed in. ``centrex.sip.transport`` (later) does the sockets."""
