# Alarms the plan asks for, a dashboard, and where alarms go.

resource "aws_sns_topic" "alarms" {
  name = "${local.name}-alarms"
}

resource "aws_sns_topic_subscription" "alarm_email" {
  count     = var.alarm_email == "" ? 0 : 1
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = var.alarm_email
}

# Any function: 5 or more errors in 5 minutes.
resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  for_each            = local.functions
  alarm_name          = "${local.name}-${each.key}-errors"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.functions[each.key].function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 5
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# Any table throttled at all (reads or writes): the on-demand maximum, or a hot partition.
resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  for_each = {
    for pair in setproduct(keys(local.table_names), ["ReadThrottleEvents", "WriteThrottleEvents"]) :
    "${pair[0]}-${pair[1]}" => { table = pair[0], metric = pair[1] }
  }
  alarm_name          = "${local.name}-${each.key}"
  namespace           = "AWS/DynamoDB"
  metric_name         = each.value.metric
  dimensions          = { TableName = local.table_names[each.value.table] }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# 10 % or more of the API's answers are 5xx over 5 minutes.
resource "aws_cloudwatch_metric_alarm" "api_5xx_rate" {
  alarm_name          = "${local.name}-api-5xx-rate"
  evaluation_periods  = 1
  threshold           = 10
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * errors / requests, 0)"
    label       = "5xx %"
    return_data = true
  }
  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "5XXError"
      dimensions  = { ApiName = aws_api_gateway_rest_api.app.name, Stage = aws_api_gateway_stage.app.stage_name }
      period      = 300
      stat        = "Sum"
    }
  }
  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "Count"
      dimensions  = { ApiName = aws_api_gateway_rest_api.app.name, Stage = aws_api_gateway_stage.app.stage_name }
      period      = 300
      stat        = "Sum"
    }
  }
}

# The roll-up falls behind: its oldest record has waited over a minute (stats trail by that).
resource "aws_cloudwatch_metric_alarm" "rollup_iterator_age" {
  alarm_name          = "${local.name}-rollup-iterator-age"
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = aws_lambda_function.functions["rollup"].function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  threshold           = 60000
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# Batches the event source mapping gave up on (after bisecting and retrying): each is in the
# failures bucket, waiting for `npm run replay:aws -- --from`.
resource "aws_cloudwatch_metric_alarm" "rollup_failures" {
  alarm_name          = "${local.name}-rollup-failures"
  namespace           = "AWS/Lambda"
  metric_name         = "OnFailureDestinationDeliveredEventCount"
  dimensions          = { EventSourceMappingUUID = aws_lambda_event_source_mapping.rollup.uuid }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

# Records the roll-up set aside as uncountable (it logs each, src/entry/aws/rollup-handler.ts):
# counts are incomplete from their time on, as /api/stats and the dashboard also say.
resource "aws_cloudwatch_log_metric_filter" "rollup_set_aside" {
  name           = "${local.name}-rollup-set-aside"
  log_group_name = aws_cloudwatch_log_group.functions["rollup"].name
  # The app's JSON line as written (`msg`), or that line as the text of Lambda's own JSON
  # record (`message`), should the JSON log format (lambda.tf) wrap what a function writes.
  pattern = "{ $.msg = \"roll-up: record set aside\" || $.message = \"*roll-up: record set aside*\" }"
  metric_transformation {
    name      = "RollupSetAside"
    namespace = "LiveInsight"
    value     = "1"
  }
}

resource "aws_cloudwatch_metric_alarm" "rollup_set_aside" {
  alarm_name          = "${local.name}-rollup-set-aside"
  namespace           = "LiveInsight"
  metric_name         = "RollupSetAside"
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = [aws_sns_topic.alarms.arn]
}

resource "aws_cloudwatch_dashboard" "app" {
  dashboard_name = local.name
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "Requests and 5xx"
          region = var.aws_region
          metrics = [
            ["AWS/ApiGateway", "Count", "ApiName", aws_api_gateway_rest_api.app.name, "Stage", aws_api_gateway_stage.app.stage_name],
            [".", "5XXError", ".", ".", ".", "."],
            [".", "4XXError", ".", ".", ".", "."],
          ]
          stat = "Sum", period = 60
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title   = "Function errors and duration"
          region  = var.aws_region
          metrics = [for k, f in aws_lambda_function.functions : ["AWS/Lambda", "Errors", "FunctionName", f.function_name]]
          stat    = "Sum", period = 60
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title   = "Roll-up iterator age (ms)"
          region  = var.aws_region
          metrics = [["AWS/Lambda", "IteratorAge", "FunctionName", aws_lambda_function.functions["rollup"].function_name]]
          stat    = "Maximum", period = 60
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "DynamoDB capacity used"
          region = var.aws_region
          metrics = flatten([for t in values(local.table_names) : [
            ["AWS/DynamoDB", "ConsumedWriteCapacityUnits", "TableName", t],
            [".", "ConsumedReadCapacityUnits", ".", t],
          ]])
          stat = "Sum", period = 60
        }
      },
    ]
  })
}

# What the account spends in a month, against an amount the operator sets (budget_monthly_usd;
# none when 0): a mail at 80 % of the amount actually spent and at 100 % forecast. AWS Budgets
# sees the whole account (filtering by the Project tag would need it activated as a cost
# allocation tag first, and would miss untagged charges such as data transfer).
locals {
  budget_email = var.budget_email != "" ? var.budget_email : var.alarm_email
}

resource "aws_budgets_budget" "monthly" {
  count        = var.budget_monthly_usd > 0 ? 1 : 0
  name         = "${local.name}-monthly"
  budget_type  = "COST"
  limit_amount = tostring(var.budget_monthly_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 80
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = [local.budget_email]
  }
  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_email_addresses = [local.budget_email]
  }

  lifecycle {
    precondition {
      condition     = local.budget_email != ""
      error_message = "budget_monthly_usd is set but nobody would be told: set budget_email (or alarm_email)."
    }
  }
}
