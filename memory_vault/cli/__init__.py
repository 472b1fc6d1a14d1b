"""CLI: parsing arguments and rendering results (text, or one JSON envelope); the guard that
turns results and errors into exit codes. Nothing here decides what a command does."""
