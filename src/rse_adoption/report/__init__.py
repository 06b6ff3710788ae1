"""Results and their renderers: model.py holds the one result object; each other module
turns it into one output format and never queries the store."""
