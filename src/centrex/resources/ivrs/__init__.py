"""IVRs (auto attendants): greeting, digit options to destinations, directory, timeout and invalid handling."""
