//! S3's errors: a status, a code such as `NoSuchKey`, and the XML body
//! S3 clients parse.

use super::xml::escape;
use crate::proxy::response::Reply;

/// One S3 error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct S3Error {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl S3Error {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn access_denied() -> Self {
        Self::new(403, "AccessDenied", "Access Denied.")
    }
    pub(crate) fn signature() -> Self {
        Self::new(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. \
             Check your key and signing method.",
        )
    }
    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidArgument", message)
    }
    pub(crate) fn no_such_bucket() -> Self {
        Self::new(404, "NoSuchBucket", "The specified bucket does not exist.")
    }
    pub(crate) fn no_such_key() -> Self {
        Self::new(404, "NoSuchKey", "The specified key does not exist.")
    }
    pub(crate) fn no_such_upload() -> Self {
        Self::new(
            404,
            "NoSuchUpload",
            "The specified multipart upload does not exist.",
        )
    }
    pub(crate) fn malformed_xml() -> Self {
        Self::new(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our \
             published schema.",
        )
    }
    pub(crate) fn internal() -> Self {
        Self::new(
            500,
            "InternalError",
            "We encountered an internal error. Please try again.",
        )
    }
    pub(crate) fn not_implemented() -> Self {
        Self::new(
            501,
            "NotImplemented",
            "A header or query you provided implies functionality that is not implemented.",
        )
    }
    pub(crate) fn precondition_failed() -> Self {
        Self::new(
            412,
            "PreconditionFailed",
            "At least one of the preconditions you specified did not hold.",
        )
    }

    /// The error for an unexpected Swift status on `resource`.
    pub(crate) fn from_swift(status: u16) -> Self {
        match status {
            401 | 403 => Self::access_denied(),
            412 => Self::precondition_failed(),
            413 => Self::new(
                400,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed object size.",
            ),
            416 => Self::new(
                416,
                "InvalidRange",
                "The requested range is not satisfiable",
            ),
            503 => Self::new(
                503,
                "ServiceUnavailable",
                "Please reduce your request rate.",
            ),
            400..=499 => Self::invalid_argument(format!("The object store refused it ({status}).")),
            _ => Self::internal(),
        }
    }

    /// The XML answer; `resource` is the request's path.
    pub(crate) fn into_reply(self, resource: &str, request_id: &str) -> Reply {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code>\
             <Message>{}</Message><Resource>{}</Resource><RequestId>{}</RequestId></Error>",
            self.code,
            escape(&self.message),
            escape(resource),
            escape(request_id)
        );
        Reply::typed(self.status, "application/xml", body)
    }
}
