"""Voicemail messages: listed, played, moved between folders, marked heard and deleted under their mailbox."""
