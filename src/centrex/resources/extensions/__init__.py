"""Extensions: numbers with SIP credentials, caller ID, forwarding, voicemail, recording and 911 location."""
