# Least privilege: the functions may touch these tables, their indexes and the Events
# stream, the roll-up's failure queue, the password and origin-secret parameters and their
# own log groups; nothing else, and no "*" resource.

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${local.name}-lambda"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

locals {
  table_arns = [
    aws_dynamodb_table.events.arn,
    aws_dynamodb_table.sessions.arn,
    aws_dynamodb_table.state.arn,
  ]
  index_arns = [
    "${aws_dynamodb_table.sessions.arn}/index/IdIndex",
    "${aws_dynamodb_table.sessions.arn}/index/UserIndex",
    # The record's period read and the packer (src/storage/dynamodb/record*.ts).
    "${aws_dynamodb_table.sessions.arn}/index/SiteStartIndex",
  ]
}

data "aws_iam_policy_document" "lambda" {
  statement {
    sid = "Tables"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
      "dynamodb:BatchGetItem",
      "dynamodb:BatchWriteItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DescribeTable",
    ]
    resources = local.table_arns
  }
  statement {
    sid       = "Indexes"
    actions   = ["dynamodb:Query"]
    resources = local.index_arns
  }
  statement {
    sid = "EventsStream"
    actions = [
      "dynamodb:DescribeStream",
      "dynamodb:GetRecords",
      "dynamodb:GetShardIterator",
      "dynamodb:ListStreams",
    ]
    resources = [aws_dynamodb_table.events.stream_arn]
  }
  statement {
    sid       = "RollupFailures"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.rollup_failures.arn}/*"]
  }
  statement {
    sid       = "RollupFailuresBucket"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.rollup_failures.arn]
  }
  statement {
    sid       = "AdminPassword"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.admin_password.arn]
  }
  statement {
    sid       = "OriginSecrets"
    actions   = ["ssm:GetParameter"]
    resources = [aws_ssm_parameter.origin_secrets.arn]
  }
  statement {
    sid     = "Logs"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      for group in aws_cloudwatch_log_group.functions : "${group.arn}:log-stream:*"
    ]
  }
}

resource "aws_iam_role_policy" "lambda" {
  name   = "${local.name}-lambda"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}
