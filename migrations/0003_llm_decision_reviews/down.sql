DROP TABLE llm_decision_reviews;
