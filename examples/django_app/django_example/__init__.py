"""A small database-free Django project served by alb-adapter on AWS Lambda behind an ALB."""
