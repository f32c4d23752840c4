"""Voicemail boxes: personal or shared mailboxes, PIN, greetings, e-mail delivery, retention."""
