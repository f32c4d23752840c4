"""Dial-plan testing: resolve a dialled number to the step the engine would run, with the reasons."""
