"""Media files: prompts, voicemail greetings and music on hold, uploaded or spoken, stored as 8 kHz WAV blobs."""
