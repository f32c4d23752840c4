"""Time conditions (schedules): weekly hours, holidays, office-mode overrides, flows; state at an instant."""
