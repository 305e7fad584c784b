# The four tables of src/storage/dynamodb/tables.ts: keys, indexes, TTL attributes and the
# Events stream must stay as the code has them (test/terraform.test.ts holds them together).
# Every table is deletion-protected (table_deletion_protection) and keeps 35 days of
# point-in-time recovery: a `terraform destroy`, or a changed environment name (new table
# names, so the old tables would be replaced), fails at the table instead of deleting a
# site's history. scripts/destroy.sh --delete-data turns protection off deliberately first.

resource "aws_dynamodb_table" "events" {
  name             = local.table_names.events
  billing_mode     = "PAY_PER_REQUEST"
  hash_key         = "pk"
  range_key        = "sk"
  stream_enabled   = true
  stream_view_type = "NEW_IMAGE"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  # No index: a collector request is one item, in its site's partition sorted by time, which
  # the live view queries itself (src/storage/dynamodb/README.md, "The Events table"). The
  # SiteTimeIndex of earlier releases went: DynamoDB deletes an index Terraform removes.

  ttl {
    attribute_name = "ttl"
    enabled        = true
  }
  deletion_protection_enabled = var.table_deletion_protection
  point_in_time_recovery {
    enabled = true
  }
  on_demand_throughput {
    max_read_request_units  = var.dynamodb_max_read_request_units
    max_write_request_units = var.dynamodb_max_write_request_units
  }
}

resource "aws_dynamodb_table" "sessions" {
  name         = local.table_names.sessions
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }
  attribute {
    name = "id"
    type = "S"
  }
  attribute {
    name = "user_key"
    type = "S"
  }
  attribute {
    name = "start_time"
    type = "N"
  }
  attribute {
    name = "site_id"
    type = "S"
  }

  global_secondary_index {
    name            = "IdIndex"
    hash_key        = "id"
    projection_type = "ALL"
  }
  global_secondary_index {
    name            = "UserIndex"
    hash_key        = "user_key"
    range_key       = "start_time"
    projection_type = "ALL"
  }
  # The record's period read (src/storage/dynamodb/README.md, "The record"): existing
  # sessions are indexed by DynamoDB itself when it is added.
  global_secondary_index {
    name            = "SiteStartIndex"
    hash_key        = "site_id"
    range_key       = "start_time"
    projection_type = "ALL"
  }

  deletion_protection_enabled = var.table_deletion_protection
  point_in_time_recovery {
    enabled = true
  }
  on_demand_throughput {
    max_read_request_units  = var.dynamodb_max_read_request_units
    max_write_request_units = var.dynamodb_max_write_request_units
  }
}

resource "aws_dynamodb_table" "state" {
  name         = local.table_names.state
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  range_key    = "sk"

  attribute {
    name = "pk"
    type = "S"
  }
  attribute {
    name = "sk"
    type = "S"
  }

  ttl {
    attribute_name = "expires_at"
    enabled        = true
  }
  deletion_protection_enabled = var.table_deletion_protection
  point_in_time_recovery {
    enabled = true
  }
  on_demand_throughput {
    max_read_request_units  = var.dynamodb_max_read_request_units
    max_write_request_units = var.dynamodb_max_write_request_units
  }
}

# The roll-up before the fold kept its counter rows in a Stats table; nothing reads or writes
# it now (src/storage/dynamodb/README.md, Upgrading). Forgotten by Terraform, not destroyed:
# an upgraded install keeps the table, deletion protection and all, until its owner deletes it.
removed {
  from = aws_dynamodb_table.stats
  lifecycle {
    destroy = false
  }
}
