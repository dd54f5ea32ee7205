"""The Gradio hub's tabs. The app imports only `zoo` (never `training`)."""
