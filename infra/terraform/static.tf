# One origin for the browser: CloudFront serves the static files from a private S3 bucket
# (origin access control) and sends pages and /api/* to API Gateway, so the dashboard's
# cookie and its HTMX requests stay same-origin. HTTPS only.

resource "aws_s3_bucket" "static" {
  bucket        = "${local.name}-static-${data.aws_caller_identity.current.account_id}"
  force_destroy = true
}

resource "aws_s3_bucket_public_access_block" "static" {
  bucket                  = aws_s3_bucket.static.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "static" {
  bucket = aws_s3_bucket.static.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_cloudfront_origin_access_control" "static" {
  name                              = "${local.name}-static"
  origin_access_control_origin_type = "s3"
  signing_behavior                  = "always"
  signing_protocol                  = "sigv4"
}

data "aws_iam_policy_document" "static" {
  statement {
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.static.arn}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.app.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "static" {
  bucket = aws_s3_bucket.static.id
  policy = data.aws_iam_policy_document.static.json
}

# AWS's managed policies: caching off for the API, on for static files; and an API request
# carries everything the viewer sent (cookie, Origin, Sec-Fetch-Site, Authorization) and
# CloudFront's own headers (CloudFront-Viewer-Country), but not Host, which API Gateway
# must see as its own.
data "aws_cloudfront_cache_policy" "disabled" {
  name = "Managed-CachingDisabled"
}

data "aws_cloudfront_cache_policy" "optimized" {
  name = "Managed-CachingOptimized"
}

data "aws_cloudfront_origin_request_policy" "all_viewer_except_host" {
  name = "Managed-AllViewerExceptHostHeader"
}

locals {
  api_origin_domain = "${aws_api_gateway_rest_api.app.id}.execute-api.${var.aws_region}.amazonaws.com"
  # Paths served from S3; scripts/deploy.sh uploads dist/lambda/static to these keys.
  static_paths = ["/assets/*", "/liveinsight.js"]
  aliases      = var.domain_name == "" ? [] : [var.domain_name]
  # The origin browsers use: the tracker snippet names it, the same-origin check accepts it.
  public_origin = "https://${var.domain_name != "" ? var.domain_name : aws_cloudfront_distribution.app.domain_name}"
}

resource "aws_acm_certificate" "domain" {
  count             = var.domain_name == "" ? 0 : 1
  provider          = aws.us_east_1
  domain_name       = var.domain_name
  validation_method = "DNS"
  lifecycle {
    create_before_destroy = true
  }
}

# The validation records, written by Terraform when the domain's Route 53 zone is given;
# otherwise `terraform output acm_validation_records` lists them to add by hand.
resource "aws_route53_record" "acm_validation" {
  for_each = var.domain_name == "" || var.route53_zone_id == "" ? {} : {
    for option in aws_acm_certificate.domain[0].domain_validation_options : option.domain_name => {
      name   = option.resource_record_name
      type   = option.resource_record_type
      record = option.resource_record_value
    }
  }
  zone_id         = var.route53_zone_id
  name            = each.value.name
  type            = each.value.type
  records         = [each.value.record]
  ttl             = 300
  allow_overwrite = true
}

# Waits until ACM has validated the certificate (by the records above, or by the ones added by
# hand): CloudFront takes the certificate from here, so the distribution is never given one
# that is still pending validation, which CloudFront refuses.
resource "aws_acm_certificate_validation" "domain" {
  count                   = var.domain_name == "" ? 0 : 1
  provider                = aws.us_east_1
  certificate_arn         = aws_acm_certificate.domain[0].arn
  validation_record_fqdns = var.route53_zone_id == "" ? null : [for record in aws_route53_record.acm_validation : record.fqdn]
}

resource "aws_cloudfront_distribution" "app" {
  enabled         = true
  is_ipv6_enabled = true
  comment         = local.name
  aliases         = local.aliases
  web_acl_id      = aws_wafv2_web_acl.edge.arn
  price_class     = "PriceClass_200"

  origin {
    origin_id                = "static"
    domain_name              = aws_s3_bucket.static.bucket_regional_domain_name
    origin_access_control_id = aws_cloudfront_origin_access_control.static.id
  }

  origin {
    origin_id   = "api"
    domain_name = local.api_origin_domain
    # The stage's name, not a reference to the stage: the functions' PUBLIC_ORIGIN names this
    # distribution, so it must not wait for the stage, which waits for the functions.
    origin_path = "/${var.environment}"
    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "https-only"
      origin_ssl_protocols   = ["TLSv1.2"]
    }
    # The mark of a request that came through here; the functions refuse any without it.
    custom_header {
      name  = local.origin_secret_header
      value = local.origin_secret_sent
    }
  }

  # Pages and /api/*: every method, nothing cached here (the app sets its own caching).
  default_cache_behavior {
    target_origin_id         = "api"
    viewer_protocol_policy   = "redirect-to-https"
    allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods           = ["GET", "HEAD"]
    cache_policy_id          = data.aws_cloudfront_cache_policy.disabled.id
    origin_request_policy_id = data.aws_cloudfront_origin_request_policy.all_viewer_except_host.id
    compress                 = true
  }

  dynamic "ordered_cache_behavior" {
    for_each = local.static_paths
    content {
      path_pattern           = ordered_cache_behavior.value
      target_origin_id       = "static"
      viewer_protocol_policy = "redirect-to-https"
      allowed_methods        = ["GET", "HEAD"]
      cached_methods         = ["GET", "HEAD"]
      cache_policy_id        = data.aws_cloudfront_cache_policy.optimized.id
      compress               = true
    }
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.domain_name == ""
    acm_certificate_arn            = var.domain_name == "" ? null : aws_acm_certificate_validation.domain[0].certificate_arn
    ssl_support_method             = var.domain_name == "" ? null : "sni-only"
    minimum_protocol_version       = var.domain_name == "" ? "TLSv1" : "TLSv1.2_2021"
  }
}

# The plan's 1000 requests a minute per client address, on the collector's path, at the edge.
resource "aws_wafv2_web_acl" "edge" {
  provider = aws.us_east_1
  name     = "${local.name}-edge"
  scope    = "CLOUDFRONT"

  default_action {
    allow {}
  }

  rule {
    name     = "collector-per-client"
    priority = 1
    action {
      block {
        custom_response {
          response_code = 429
          response_header {
            name  = "Retry-After"
            value = "60"
          }
        }
      }
    }
    statement {
      rate_based_statement {
        limit                 = var.requests_per_minute_per_client
        evaluation_window_sec = 60
        aggregate_key_type    = "IP"
        scope_down_statement {
          byte_match_statement {
            search_string         = "/api/events"
            positional_constraint = "STARTS_WITH"
            field_to_match {
              uri_path {}
            }
            # The path as the app routes it, not as sent: /api/%65vents, /api/./events,
            # /api//events and /api\events are counted here too (the app answers them 404,
            # canonical-path.ts, but each is still an invocation). Decoding first, so an encoded
            # dot segment is then resolved; _WIN also reads a backslash as a slash.
            # https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-transformation.html
            text_transformation {
              priority = 0
              type     = "URL_DECODE"
            }
            text_transformation {
              priority = 1
              type     = "NORMALIZE_PATH_WIN"
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "collector-per-client"
      sampled_requests_enabled   = true
    }
  }

  # Sign-in requests from one address, on both routes (POST /api/auth/login and the dashboard
  # form's POST /login) as one budget, dropped at the edge once they pass what the app's
  # lockout would ever check from it (five free, then one per 1-15 minutes: 7 in 5 minutes).
  # The lockout itself lives in the State table and holds without this; the rule spares
  # Lambda and DynamoDB a flood's 429s.
  # The path is URL-decoded and normalised before the match: the app routes
  # /api/auth/%6Cogin and /api/auth/./login to the same sign-in, so they count the same.
  rule {
    name     = "sign-in-per-client"
    priority = 2
    action {
      block {
        custom_response {
          response_code = 429
          response_header {
            name  = "Retry-After"
            value = "300"
          }
        }
      }
    }
    statement {
      rate_based_statement {
        limit                 = var.sign_in_requests_per_5_minutes_per_client
        evaluation_window_sec = 300
        aggregate_key_type    = "IP"
        scope_down_statement {
          and_statement {
            statement {
              byte_match_statement {
                search_string         = "POST"
                positional_constraint = "EXACTLY"
                field_to_match {
                  method {}
                }
                text_transformation {
                  priority = 0
                  type     = "NONE"
                }
              }
            }
            statement {
              or_statement {
                statement {
                  byte_match_statement {
                    search_string         = "/api/auth/login"
                    positional_constraint = "EXACTLY"
                    field_to_match {
                      uri_path {}
                    }
                    text_transformation {
                      priority = 0
                      type     = "URL_DECODE"
                    }
                    text_transformation {
                      priority = 1
                      type     = "NORMALIZE_PATH"
                    }
                  }
                }
                statement {
                  byte_match_statement {
                    search_string         = "/login"
                    positional_constraint = "EXACTLY"
                    field_to_match {
                      uri_path {}
                    }
                    text_transformation {
                      priority = 0
                      type     = "URL_DECODE"
                    }
                    text_transformation {
                      priority = 1
                      type     = "NORMALIZE_PATH"
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "sign-in-per-client"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = "${local.name}-edge"
    sampled_requests_enabled   = true
  }
}
