"""The farm front end: a shot's job graph as Open Job Description and Deadline 10 jobs."""
