# The collector's own door (collector_door = "direct", the default): an HTTP API that the
# tracker reaches without CloudFront, routing POST /api/events (and its CORS preflight) to the
# event-collector function, payload format 2.0. Why not behind the edge like the rest: there
# every collector request pays CloudFront's and the WAF's request fees, $1.20 per million
# events at the tracker's 1.5 events a request, more than DynamoDB and Lambda together
# (README, "Cost on AWS"). What replaces the edge for the collector: the client address is the
# connection's own (`requestContext.http.sourceIp`, which no header can change: TRUST_PROXY 0
# on this function), a flood is held by this stage's throttle and the function's reserved
# concurrency, and each container limits every address (RATE_LIMIT_PER_MINUTE) where the WAF's
# rate rule counted an address across all of them. CloudFront's /api/events stays, served by
# the stats API function with the edge's settings, for snippets without `data-api`.
# HTTP API pricing: https://aws.amazon.com/api-gateway/pricing/; throttling:
# https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-throttling.html

locals {
  collector_direct = var.collector_door == "direct"
  # Its https:// address (null with the edge door): the snippet's data-api.
  collector_endpoint = one(aws_apigatewayv2_api.collector[*].api_endpoint)
}

resource "aws_apigatewayv2_api" "collector" {
  count         = local.collector_direct ? 1 : 0
  name          = "${local.name}-collector"
  protocol_type = "HTTP"
}

resource "aws_apigatewayv2_integration" "collector" {
  count                  = local.collector_direct ? 1 : 0
  api_id                 = aws_apigatewayv2_api.collector[0].id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.functions["event-collector"].invoke_arn
  payload_format_version = "2.0"
}

resource "aws_apigatewayv2_route" "collector" {
  # The tracker's POSTs are CORS-simple (text/plain, no preflight); a sender that sets its
  # own headers preflights, and the app answers that as on Node.
  for_each  = local.collector_direct ? toset(["POST /api/events", "OPTIONS /api/events"]) : toset([])
  api_id    = aws_apigatewayv2_api.collector[0].id
  route_key = each.key
  target    = "integrations/${aws_apigatewayv2_integration.collector[0].id}"
}

resource "aws_apigatewayv2_stage" "collector" {
  count       = local.collector_direct ? 1 : 0
  api_id      = aws_apigatewayv2_api.collector[0].id
  name        = "$default"
  auto_deploy = true
  default_route_settings {
    throttling_rate_limit  = var.collector_throttle_rate_limit
    throttling_burst_limit = var.collector_throttle_burst_limit
  }
}

resource "aws_lambda_permission" "collector_http_api" {
  count         = local.collector_direct ? 1 : 0
  statement_id  = "AllowCollectorHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.functions["event-collector"].function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.collector[0].execution_arn}/*/*/api/events"
}
