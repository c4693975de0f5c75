"""What a model-risk reviewer reads about a trained version: figures and the model card."""
