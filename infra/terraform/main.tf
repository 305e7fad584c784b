# LiveInsight on AWS: API Gateway (REST) -> Lambda -> DynamoDB, the dashboard's static files
# on S3 behind CloudFront, which also routes pages and /api/* to API Gateway (one origin for
# the browser). `scripts/deploy.sh` runs plan and apply; README "Deploy to AWS".

terraform {
  required_version = ">= 1.7.0"
  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.80 or a later 5.x: every argument used here is in it. The most recent ones, by the
      # provider's changelog: aws_lambda_event_source_mapping.metrics_config (5.79.0, #40322),
      # aws_dynamodb_table.on_demand_throughput (5.72.0, #37799), aws_wafv2_web_acl
      # rate_based_statement.evaluation_window_sec (5.40.0, #36045). 6.x is left out until
      # tried. Which 5.x `terraform init` picked is recorded in .terraform.lock.hcl: commit it.
      version = "~> 5.80"
    }
  }
  # Remote state (S3 + a lock table) is off by default: see backend.tf.example.
}

provider "aws" {
  region = var.aws_region
  default_tags {
    tags = local.tags
  }
}

# CloudFront's certificate and web ACL live in us-east-1, whatever the region.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"
  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}

locals {
  name = "${var.project_name}-${var.environment}"
  tags = {
    Project     = var.project_name
    Environment = var.environment
    ManagedBy   = "terraform"
  }
  # Table names as the code's defaults (src/storage/dynamodb/tables.ts), per environment.
  table_names = {
    events   = "LiveInsight-Events-${var.environment}"
    sessions = "LiveInsight-Sessions-${var.environment}"
    state    = "LiveInsight-State-${var.environment}"
  }
}
