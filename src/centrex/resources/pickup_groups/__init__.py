"""Pickup groups: extensions that may pick up each other's ringing calls."""
