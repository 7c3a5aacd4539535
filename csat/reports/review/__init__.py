"""The management review pack (`csat review`): one document for the review meeting of a half year."""
