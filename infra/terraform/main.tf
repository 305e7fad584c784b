# LiveInsight on AWS: API Gateway (REST) -> Lambda -> DynamoDB, the dashboard's static files
# on S3 behind CloudFront, which also routes pages and /api/* to API Gateway (one origin for
# the browser). `scripts/deploy.sh` runs plan and apply; README "Deploy to AWS".

terraform {
  required_version = ">= 1.5.0"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
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
    stats    = "LiveInsight-Stats-${var.environment}"
    state    = "LiveInsight-State-${var.environment}"
  }
}
