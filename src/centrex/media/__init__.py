"""Media: audio files (validation and conversion of uploads, ``audiofile``) and, later, the RTP media plane."""
