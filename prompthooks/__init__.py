"""Version prompt templates in git and mirror them into the MLflow Prompt Registry."""

__version__ = "0.1.0"
