# REST API in front of the functions. Every route of the app reaches one: the collector's
# and the live view's paths have functions of their own, everything else (pages, sign-in,
# stats, sessions, sites, docs, health, metrics, the tracker, assets) goes to the stats API.
# Proxy integrations: the app answers CORS preflights and every method itself, as on Node.

resource "aws_api_gateway_rest_api" "app" {
  name = local.name
  endpoint_configuration {
    types = ["REGIONAL"]
  }
  # Every body passes as base64 both ways: the app compresses answers over 1 KiB, and the
  # Lambda adapter encodes those (and decodes requests) by isBase64Encoded.
  binary_media_types = ["*/*"]
}

locals {
  api_id   = aws_api_gateway_rest_api.app.id
  api_root = aws_api_gateway_rest_api.app.root_resource_id
  # Path part → (parent key, function). "" is the root.
  api_routes = {
    "{proxy+}"     = { parent = "", part = "{proxy+}", function = "stats-api" }
    "api"          = { parent = "", part = "api", function = "stats-api" }
    "api/{proxy+}" = { parent = "api", part = "{proxy+}", function = "stats-api" }
    # With the collector's own door (collector_api.tf) CloudFront's /api/events, for snippets
    # without `data-api`, goes to the stats API: its settings are the edge's (two hops, the
    # origin secret), which the direct collector's are not.
    "api/events" = {
      parent = "api", part = "events", function = local.collector_direct ? "stats-api" : "event-collector"
    }
    "api/realtime" = { parent = "api", part = "realtime", function = "realtime-api" }
    "api/realtime/{proxy+}" = {
      parent = "api/realtime", part = "{proxy+}", function = "realtime-api"
    }
    "api/stats" = { parent = "api", part = "stats", function = "stats-api" }
  }
}

resource "aws_api_gateway_resource" "api" {
  rest_api_id = local.api_id
  parent_id   = local.api_root
  path_part   = "api"
}

resource "aws_api_gateway_resource" "level2" {
  for_each    = { for k, v in local.api_routes : k => v if v.parent == "api" }
  rest_api_id = local.api_id
  parent_id   = aws_api_gateway_resource.api.id
  path_part   = each.value.part
}

resource "aws_api_gateway_resource" "root_proxy" {
  rest_api_id = local.api_id
  parent_id   = local.api_root
  path_part   = "{proxy+}"
}

resource "aws_api_gateway_resource" "realtime_proxy" {
  rest_api_id = local.api_id
  parent_id   = aws_api_gateway_resource.level2["api/realtime"].id
  path_part   = "{proxy+}"
}

locals {
  # Every resource that takes requests, with the function behind it ("/" is the root).
  api_methods = merge(
    { "/" = { resource = local.api_root, function = "stats-api" } },
    { "/{proxy+}" = { resource = aws_api_gateway_resource.root_proxy.id, function = "stats-api" } },
    { "/api" = { resource = aws_api_gateway_resource.api.id, function = "stats-api" } },
    { for k, r in aws_api_gateway_resource.level2 : "/${k}" => { resource = r.id, function = local.api_routes[k].function } },
    { "/api/realtime/{proxy+}" = { resource = aws_api_gateway_resource.realtime_proxy.id, function = "realtime-api" } },
  )
}

resource "aws_api_gateway_method" "any" {
  for_each      = local.api_methods
  rest_api_id   = local.api_id
  resource_id   = each.value.resource
  http_method   = "ANY"
  authorization = "NONE"
}

resource "aws_api_gateway_integration" "any" {
  for_each                = local.api_methods
  rest_api_id             = local.api_id
  resource_id             = each.value.resource
  http_method             = aws_api_gateway_method.any[each.key].http_method
  type                    = "AWS_PROXY"
  integration_http_method = "POST"
  uri                     = aws_lambda_function.functions[each.value.function].invoke_arn
}

resource "aws_lambda_permission" "api" {
  for_each      = toset(["event-collector", "realtime-api", "stats-api"])
  statement_id  = "AllowApiGateway"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.functions[each.key].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_api_gateway_rest_api.app.execution_arn}/*/*"
}

resource "aws_api_gateway_deployment" "app" {
  rest_api_id = local.api_id
  # A stage serves a snapshot of the API taken at deployment: any change to a resource, a
  # method or an integration (its function, type or method) must make a new one, or the
  # stage goes on serving the old.
  triggers = {
    redeployment = sha1(jsonencode([
      local.api_routes,
      keys(local.api_methods),
      [for k, m in aws_api_gateway_method.any : [k, m.id, m.http_method, m.authorization]],
      [for k, i in aws_api_gateway_integration.any : [k, i.id, i.type, i.integration_http_method, i.uri]],
    ]))
  }
  lifecycle {
    create_before_destroy = true
  }
  depends_on = [aws_api_gateway_integration.any]
}

resource "aws_api_gateway_stage" "app" {
  rest_api_id   = local.api_id
  deployment_id = aws_api_gateway_deployment.app.id
  stage_name    = var.environment
}

resource "aws_api_gateway_method_settings" "all" {
  rest_api_id = local.api_id
  stage_name  = aws_api_gateway_stage.app.stage_name
  method_path = "*/*"
  settings {
    throttling_rate_limit  = var.api_throttle_rate_limit
    throttling_burst_limit = var.api_throttle_burst_limit
    # Per-method metrics are billed as custom metrics; the stage-wide ones (what the 5xx
    # alarm and the dashboard read) are published either way.
    metrics_enabled = var.api_detailed_metrics
  }
}
