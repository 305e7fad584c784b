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

variable "collector_memory_mb" {
  description = "The event collector's memory. Lambda gives CPU in proportion to memory; the collector mostly waits on one DynamoDB write, so a smaller size costs less per request (bench/aws-cost: npm run bench:aws-cost)."
  type        = number
  default     = 256
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
  # The app refuses a shorter one at its first cold start (ADMIN_PASSWORD, src/config/env.ts):
  # refused here, at plan time, nothing is created with it.
  validation {
    condition     = length(var.admin_password) >= 8
    error_message = "admin_password must be at least 8 characters."
  }
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
variable "collector_door" {
  description = "How the tracker reaches the collector: \"direct\", an HTTP API of its own without CloudFront or the WAF (collector_api.tf says why: the edge's request fees are most of the bill), or \"edge\", CloudFront and the REST API like every other route."
  type        = string
  default     = "direct"
  validation {
    condition     = contains(["direct", "edge"], var.collector_door)
    error_message = "collector_door is \"direct\" or \"edge\"."
  }
}

variable "collector_throttle_rate_limit" {
  description = "Steady requests per second the collector's HTTP API accepts (collector_door = \"direct\"), all clients together: a flood's cap, far above a site's tracker traffic."
  type        = number
  default     = 500
}

variable "collector_throttle_burst_limit" {
  type    = number
  default = 1000
}

variable "collector_rate_limit_per_minute" {
  description = "Requests a minute one client address may send to one collector container (collector_door = \"direct\": no WAF rate rule in front). A tracker sends about a dozen a visit."
  type        = number
  default     = 120
}

variable "api_throttle_rate_limit" {
  description = "Steady requests per second the API stage accepts, all clients together."
  type        = number
  default     = 2000
}

variable "api_throttle_burst_limit" {
  type    = number
  default = 5000
}

# Reserved concurrency: none by default. Lambda keeps 100 of the account's concurrency
# unreserved, and a new account's quota may be far below the usual 1000 (Service Quotas,
# "Concurrent executions"), so any reservation can fail the apply there. A reservation is
# both a floor and a cap for that function: set them to cap spend once the quota allows.
variable "collector_reserved_concurrency" {
  description = "Reserved concurrency of the event collector (null: none, it shares the account's pool)."
  type        = number
  default     = null
  validation {
    condition     = coalesce(var.collector_reserved_concurrency, 1) >= 1
    error_message = "A reservation of 0 would stop the function: leave it null for none, or reserve 1 or more."
  }
}

variable "api_reserved_concurrency" {
  description = "Reserved concurrency of the realtime API and of the stats API, each (null: none)."
  type        = number
  default     = null
  validation {
    condition     = coalesce(var.api_reserved_concurrency, 1) >= 1
    error_message = "A reservation of 0 would stop the function: leave it null for none, or reserve 1 or more."
  }
}

variable "rollup_reserved_concurrency" {
  description = "Reserved concurrency of the roll-up (null: none; the stream's shards and the parallelization factor bound it anyway)."
  type        = number
  default     = null
  validation {
    condition     = coalesce(var.rollup_reserved_concurrency, 1) >= 1
    error_message = "A reservation of 0 would stop the function: leave it null for none, or reserve 1 or more."
  }
}

variable "lambda_concurrency_quota" {
  description = "The account's Lambda concurrency quota in this region; reservations together must leave 100 of it unreserved (checked at plan time)."
  type        = number
  default     = 1000
  validation {
    condition     = var.lambda_concurrency_quota >= 10
    error_message = "Lambda's concurrency quota is at least 10."
  }
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
  description = "How long the mapping gathers records before a batch (0 to 300 s). A unit writes one window per site, whatever its size, so a longer wait writes fewer; stats lag by about this much (45 s leaves the stream's delivery and the unit's own time within the minute), and the dashboard shows the lag."
  type        = number
  default     = 45
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
  description = "A custom domain for CloudFront (off when empty): its ACM certificate is requested in us-east-1 and validated by DNS; CloudFront uses it once validated."
  type        = string
  default     = ""
}

variable "route53_zone_id" {
  description = "With a custom domain: the Route 53 hosted zone that holds it, for Terraform to write the validation records (empty: add the records acm_validation_records lists yourself)."
  type        = string
  default     = ""
}

variable "table_deletion_protection" {
  description = "DynamoDB deletion protection on every table: a destroy, or a changed environment name (new table names), fails instead of deleting a site's history. Set false deliberately, apply, then destroy (scripts/destroy.sh --delete-data)."
  type        = bool
  default     = true
}

variable "budget_monthly_usd" {
  description = "Monthly AWS Budgets alarm in USD for the whole account (0: no budget). Mails at 80 % of actual and 100 % of forecast spend."
  type        = number
  default     = 0
  validation {
    condition     = var.budget_monthly_usd >= 0
    error_message = "budget_monthly_usd is an amount in USD, 0 for no budget."
  }
}

variable "budget_email" {
  description = "Where the budget's alerts are mailed (empty: alarm_email). A budget needs one of the two."
  type        = string
  default     = ""
}

variable "api_detailed_metrics" {
  description = "API Gateway's detailed (per-method) CloudWatch metrics, billed as custom metrics. Off: the stage-wide Count, 4XXError, 5XXError and Latency are still published."
  type        = bool
  default     = false
}

variable "origin_secret_names" {
  description = "Names of the origin secrets Terraform generates (not the secrets): CloudFront sends the first one's as X-Origin-Verify, the functions accept every one's. Two only during a rotation (README, Operations)."
  type        = list(string)
  default     = ["1"]
  validation {
    condition = (
      length(var.origin_secret_names) >= 1 && length(var.origin_secret_names) <= 2 &&
      length(distinct(var.origin_secret_names)) == length(var.origin_secret_names) &&
      alltrue([for n in var.origin_secret_names : can(regex("^[a-z0-9-]{1,32}$", n))])
    )
    error_message = "One or two different names of a-z, 0-9 and -: the one CloudFront sends first."
  }
}
