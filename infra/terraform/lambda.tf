# One package (scripts/build.sh), five functions: the plan's event collector, realtime API
# and stats API (all three the same app, each with its own concurrency and logs), the
# roll-up on the Events stream, and the scheduled sweeper.

locals {
  functions = {
    event-collector = { handler = "lambda.http", reserved = var.collector_reserved_concurrency, memory = var.collector_memory_mb }
    realtime-api    = { handler = "lambda.http", reserved = var.api_reserved_concurrency, memory = var.lambda_memory_mb }
    stats-api       = { handler = "lambda.http", reserved = var.api_reserved_concurrency, memory = var.lambda_memory_mb }
    rollup          = { handler = "lambda.rollup", reserved = var.rollup_reserved_concurrency, memory = var.lambda_memory_mb }
    # Sweeps every 5 minutes, then packs the record's settled days (15 s of the timeout at
    # most, src/storage/dynamodb/record-packs.ts); its marks and `packed_to` only move
    # forward (conditional writes): nothing to gain from a reservation.
    sweeper = { handler = "lambda.sweep", reserved = null, memory = var.lambda_memory_mb }
  }
  # Reserved concurrency together: Lambda refuses a reservation that leaves the account under
  # 100 unreserved (checked at plan time against lambda_concurrency_quota, below).
  reserved_total = sum([for f in values(local.functions) : coalesce(f.reserved, 0)])
  # Every variable the code reads on AWS (src/config/env.ts, src/entry/aws/lambda-handlers.ts);
  # AWS_DEFAULT_REGION is the runtime's own.
  function_environment = {
    EVENTS_TABLE             = aws_dynamodb_table.events.name
    SESSIONS_TABLE           = aws_dynamodb_table.sessions.name
    STATE_TABLE              = aws_dynamodb_table.state.name
    ADMIN_PASSWORD_PARAMETER = aws_ssm_parameter.admin_password.name
    # name:version: new secrets change the functions' configuration, so the next requests go
    # to new containers, which read them at their cold start (lambda-handlers.ts).
    ORIGIN_SECRET_PARAMETER = "${aws_ssm_parameter.origin_secrets.name}:${aws_ssm_parameter.origin_secrets.version}"
    # API Gateway hands the app its own host; browsers know CloudFront's or the domain's.
    PUBLIC_ORIGIN = local.public_origin
    # CloudFront appends the viewer's address, API Gateway appends CloudFront's: two hops.
    TRUST_PROXY             = "2"
    EVENT_TTL_HOURS         = tostring(var.event_ttl_hours)
    SESSION_TIMEOUT_MINUTES = tostring(var.session_timeout_minutes)
    STATS_CACHE_SECONDS     = "30"
    # The per-client limit is the WAF's, at the edge: a container sees only part of a client.
    RATE_LIMIT_PER_MINUTE = "0"
    # Warnings and errors only: every line is billed as CloudWatch Logs ingestion, and an
    # info line per request would cost more than the request's DynamoDB writes.
    LOG_LEVEL = var.log_level
    # The tracker snippet's `data-api` when the collector has its own door (collector_api.tf).
    COLLECTOR_ORIGIN = local.collector_direct ? local.collector_endpoint : ""
  }
  # The collector behind its own HTTP API (collector_api.tf): no CDN marks its requests, the
  # connection's address is the client's, and each container limits every address.
  direct_collector_environment = merge(
    { for k, v in local.function_environment : k => v if k != "ORIGIN_SECRET_PARAMETER" },
    {
      TRUST_PROXY           = "0"
      RATE_LIMIT_PER_MINUTE = tostring(var.collector_rate_limit_per_minute)
    },
  )
}

resource "aws_ssm_parameter" "admin_password" {
  name  = "/${var.project_name}/${var.environment}/admin-password"
  type  = "SecureString"
  value = var.admin_password
}

resource "aws_cloudwatch_log_group" "functions" {
  for_each          = local.functions
  name              = "/aws/lambda/${local.name}-${each.key}"
  retention_in_days = var.log_retention_days
}

resource "aws_lambda_function" "functions" {
  for_each      = local.functions
  function_name = "${local.name}-${each.key}"
  role          = aws_iam_role.lambda.arn
  runtime       = "nodejs22.x"
  # Graviton: its GB-second is a fifth cheaper (https://aws.amazon.com/lambda/pricing/), and
  # the package is JavaScript only (scripts/build-lambda.ts leaves out the one native module,
  # better-sqlite3, which the AWS shape never loads), so it runs on either.
  architectures = ["arm64"]
  handler       = each.value.handler
  filename      = var.lambda_zip
  # Hashed only when the package is there: `terraform destroy` (scripts/destroy.sh) on a
  # checkout without dist/ must not fail reading it. deploy.sh checks it exists before a plan.
  source_code_hash               = fileexists(var.lambda_zip) ? filebase64sha256(var.lambda_zip) : null
  memory_size                    = each.value.memory
  timeout                        = var.lambda_timeout_s
  reserved_concurrent_executions = each.value.reserved
  environment {
    variables = each.key == "event-collector" && local.collector_direct ? local.direct_collector_environment : local.function_environment
  }
  # Lambda's own START, END and REPORT lines are INFO-level system logs: at WARN they are not
  # sent (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html),
  # and they were most of the bytes billed as log ingestion (one set per invocation). Duration,
  # errors and throttles stay in CloudWatch's Lambda metrics, which the alarms read. Level
  # filtering needs the JSON log format; the app already writes JSON lines, whose numeric pino
  # levels Lambda reads as INFO, so application logs are left at INFO and LOG_LEVEL filters them.
  logging_config {
    log_format            = "JSON"
    system_log_level      = "WARN"
    application_log_level = "INFO"
  }
  depends_on = [aws_cloudwatch_log_group.functions]
  lifecycle {
    precondition {
      condition     = local.reserved_total <= var.lambda_concurrency_quota - 100
      error_message = "Reserved concurrency adds up to ${local.reserved_total}: Lambda keeps 100 of the account's ${var.lambda_concurrency_quota} unreserved. Lower the *_reserved_concurrency variables (null: none) or raise the quota (Service Quotas) and lambda_concurrency_quota."
    }
  }
}

# Where the event source mapping puts a batch it gave up on (its retries used up: the roll-up
# itself retries transient faults and sets poison records aside, so this is for what neither
# caught, such as a function that keeps timing out). An S3 destination receives the whole
# invocation record, the batch's stream records included; SQS or SNS would receive only
# their shard and sequence numbers, and the stream keeps records 24 hours
# (https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-errors.html).
# `npm run replay:aws -- --from DIR` counts the downloaded objects once (README, Operations).
resource "aws_s3_bucket" "rollup_failures" {
  bucket        = "${local.name}-rollup-failures-${data.aws_caller_identity.current.account_id}"
  force_destroy = false
}

resource "aws_s3_bucket_public_access_block" "rollup_failures" {
  bucket                  = aws_s3_bucket.rollup_failures.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "rollup_failures" {
  bucket = aws_s3_bucket.rollup_failures.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

# Kept long enough to be replayed: a replay counts events up to REPLAY_WITHIN_HOURS after
# them (what the fold's windows remember), and a batch is older than that by the time it is here only when
# nobody answered the alarm for days.
resource "aws_s3_bucket_lifecycle_configuration" "rollup_failures" {
  bucket = aws_s3_bucket.rollup_failures.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {}
    expiration {
      days = var.rollup_failure_keep_days
    }
  }
}

# The stream feeds the roll-up: partial batch responses, bisect on error; a batch that still
# fails after its retries goes whole to the bucket above, and the alarm on the mapping's
# OnFailureDestinationDeliveredEventCount is the cue to replay it (README in
# src/storage/dynamodb, Faults). Batches wait up to the batching window so that a site's
# window holds more of its events: stats lag by about the window.
resource "aws_lambda_event_source_mapping" "rollup" {
  event_source_arn                   = aws_dynamodb_table.events.stream_arn
  function_name                      = aws_lambda_function.functions["rollup"].arn
  starting_position                  = "TRIM_HORIZON"
  batch_size                         = var.rollup_batch_size
  maximum_batching_window_in_seconds = var.rollup_batching_window_s
  parallelization_factor             = var.rollup_parallelization_factor
  bisect_batch_on_function_error     = true
  maximum_retry_attempts             = 10
  maximum_record_age_in_seconds      = 86400
  function_response_types            = ["ReportBatchItemFailures"]
  # Only new items are counted: TTL deletions and a user erasure's deletions reach the stream
  # as REMOVE records, and its rewrite of a request item that holds other visitors' events as
  # a MODIFY, whose events were counted when the item was inserted: counting them again would
  # count twice, and each would take an invocation for nothing. Filtered-out records are not billed
  # (https://docs.aws.amazon.com/lambda/latest/dg/invocation-eventfiltering.html).
  filter_criteria {
    filter {
      pattern = jsonencode({ eventName = ["INSERT"] })
    }
  }
  destination_config {
    on_failure {
      destination_arn = aws_s3_bucket.rollup_failures.arn
    }
  }
  # Publishes the mapping's event counts, OnFailureDestinationDeliveredEventCount among them
  # (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html#event-source-mapping-metrics).
  metrics_config {
    metrics = ["EventCount"]
  }
  depends_on = [aws_iam_role_policy.lambda]
}

# What the embedded server runs on a timer: the sweep (raw events past the TTL, old salts),
# then the record's packer.
resource "aws_cloudwatch_event_rule" "sweep" {
  name                = "${local.name}-sweep"
  schedule_expression = "rate(5 minutes)"
}

resource "aws_cloudwatch_event_target" "sweep" {
  rule = aws_cloudwatch_event_rule.sweep.name
  arn  = aws_lambda_function.functions["sweeper"].arn
}

resource "aws_lambda_permission" "sweep" {
  statement_id  = "AllowSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.functions["sweeper"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.sweep.arn
}
