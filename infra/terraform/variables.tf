variable "project_name" {
  description = "Prefix of every resource name."
  type        = string
  default     = "liveinsight"
}

variable "environment" {
  description = "Deployment name (prod, staging…): part of every resource and table name."
  type        = string
  default     = "prod"
}

variable "aws_region" {
  description = "Region of the API, the functions and the tables."
  type        = string
  default     = "ap-northeast-2"
}

variable "lambda_zip" {
  description = "The package scripts/build.sh builds."
  type        = string
  default     = "../../dist/lambda/liveinsight-lambda.zip"
}

variable "lambda_memory_mb" {
  type    = number
  default = 512
}

variable "lambda_timeout_s" {
  type    = number
  default = 30
}

variable "log_retention_days" {
  type    = number
  default = 7
}

variable "admin_password" {
  description = "Dashboard password, kept as an SSM SecureString; the functions read it at a cold start."
  type        = string
  sensitive   = true
}

variable "event_ttl_hours" {
  description = "How long raw events are kept (EVENT_TTL_HOURS)."
  type        = number
  default     = 24
}

variable "session_timeout_minutes" {
  type    = number
  default = 30
}

# The plan's 1000 requests a minute, per client address, at the edge (WAF on CloudFront).
variable "requests_per_minute_per_client" {
  type    = number
  default = 1000
}

# Sign-in requests (POST /api/auth/login and POST /login together) per client address per
# 5 minutes, at the edge. Above what the app's lockout checks from an address in that time
# (about 7), far above a person signing in; AWS WAF takes 10 at least.
variable "sign_in_requests_per_5_minutes_per_client" {
  type    = number
  default = 20
  validation {
    condition     = var.sign_in_requests_per_5_minutes_per_client >= 10
    error_message = "AWS WAF's rate-based rules take a limit of 10 or more."
  }
}

# The stage's own limits are for the whole service, not per client: 1000 a minute for
# everyone together would be 17 requests a second.
variable "api_throttle_rate_limit" {
  description = "Steady requests per second the API stage accepts, all clients together."
  type        = number
  default     = 2000
}

variable "api_throttle_burst_limit" {
  type    = number
  default = 5000
}

# Spend guards: the most that can run at once, and the most DynamoDB may serve per second.
variable "collector_reserved_concurrency" {
  type    = number
  default = 100
}

variable "api_reserved_concurrency" {
  type    = number
  default = 20
}

variable "rollup_reserved_concurrency" {
  type    = number
  default = 10
}

variable "dynamodb_max_read_request_units" {
  type    = number
  default = 4000
}

variable "dynamodb_max_write_request_units" {
  type    = number
  default = 4000
}

# The roll-up's batches: larger ones share more counter rows (README, "Cost on AWS").
variable "rollup_batch_size" {
  description = "Most stream records per roll-up batch (Lambda takes up to 10,000 for DynamoDB streams; a batch is also cut at the 6 MB invocation payload)."
  type        = number
  default     = 10000
}

variable "rollup_batching_window_s" {
  description = "How long the mapping gathers records before a batch (0 to 300 s). Counter rows shared by a window's events are written once per window; stats lag by about this much, and the dashboard shows the lag."
  type        = number
  default     = 30
  validation {
    condition     = var.rollup_batching_window_s >= 0 && var.rollup_batching_window_s <= 60
    error_message = "Stats should lag by at most a minute: keep the window at 60 s or less."
  }
}

variable "rollup_failure_keep_days" {
  description = "Days a batch the roll-up gave up on is kept in the failures bucket for a replay."
  type        = number
  default     = 30
}

variable "log_level" {
  description = "The functions' log level (fatal, error, warn, info, debug). Every line is billed as CloudWatch Logs ingestion."
  type        = string
  default     = "warn"
}

variable "rollup_parallelization_factor" {
  description = "Concurrent batches per shard (1 to 10). Lambda keeps order per item only; the roll-up counts each event by its own key behind a fence per tracker session, so any order counts once (README in src/storage/dynamodb, Counting once)."
  type        = number
  default     = 1
  validation {
    condition     = var.rollup_parallelization_factor >= 1 && var.rollup_parallelization_factor <= 10
    error_message = "Lambda takes a parallelization factor of 1 to 10."
  }
}

variable "alarm_email" {
  description = "Where alarms are mailed; empty: alarms only show in CloudWatch."
  type        = string
  default     = ""
}

variable "domain_name" {
  description = "A custom domain for CloudFront (off when empty): its ACM certificate is requested in us-east-1 and validated by DNS outside Terraform."
  type        = string
  default     = ""
}
