"""Devices: provisionable phones bound to extensions."""
