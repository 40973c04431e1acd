//! What SMB content proved about a flow (MS-SMB2, MS-CIFS negotiate).

use std::borrow::Cow;

use serde::Serialize;

use crate::evidence::{Counts, Facts, Merge};

/// What SMB messages of a flow showed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SmbEvidence {
    /// Dialects offered by the client: SMB2 dialects ("2.0.2" .. "3.1.1") and SMB1 NEGOTIATE
    /// dialect strings as sent ("NT LM 0.12", "SMB 2.002", "SMB 2.???"). Known SMB2 dialects
    /// are fixed names: recording one allocates nothing.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub dialects_offered: Facts<Cow<'static, str>>,
    /// Dialect chosen by the server ("3.1.1" ...; "2.???" when the server answered an SMB1
    /// negotiate with the SMB2 wildcard).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub dialect: Facts<Cow<'static, str>>,
    /// True when traffic is encrypted: a TRANSFORM_HEADER was seen, or the session or a share
    /// demands encryption.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub encrypted: bool,
    /// Why `encrypted` is set: "transform_header", "session_encrypt_data", "share_encrypt_data".
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub encryption: Facts<String>,
    /// Service principals of the Kerberos tickets presented in SESSION_SETUP requests (the
    /// AP-REQ in the security buffer's GSS-API token, [`crate::proto::krb::gss`]), e.g.
    /// "cifs/dc1.example.com".
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub ticket_spns: Facts<String>,
    /// The server's NetBIOS name a client called in a NetBIOS session request (TCP 139, RFC
    /// 1002 4.3.2), with its suffix: `DC1<20>`.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub called_names: Facts<String>,
    /// The client's own NetBIOS name in a session request: `WS1<00>`.
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub calling_names: Facts<String>,
    /// Users (`DOMAIN\\user`, as the client wrote them) of SMB1 SESSION_SETUP_ANDX requests
    /// without extended security (MS-CIFS 2.2.4.53.1): the LM/NTLM responses or a plaintext
    /// password travel in the request's own fields, with no NTLMSSP (logons with NTLMSSP are in
    /// the flow's `ntlm` entry).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub legacy_users: Facts<String>,
    /// Those requests with an empty account name (anonymous logons), counted.
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub legacy_anonymous: u64,
    /// Share paths of TREE_CONNECT requests (`\\host\IPC$`).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub trees: Facts<String>,
    /// Named pipes opened on IPC$ (CREATE names: `cert`, `samr`, `lsarpc` ...).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub pipes: Facts<String>,
    /// Files opened on other shares (CREATE names).
    #[serde(skip_serializing_if = "Facts::is_empty")]
    pub files: Facts<String>,
    /// SMB2 requests by command ("negotiate", "create", "ioctl" ...), plus "smb1" and
    /// "smb1_negotiate" for SMB1 messages and "midstream_start" when the capture began inside a
    /// message.
    #[serde(skip_serializing_if = "Counts::is_empty")]
    pub commands: Counts,
    /// Responses whose NT status is not STATUS_SUCCESS, by status ("0xc0000016" is
    /// MORE_PROCESSING_REQUIRED in session setup, "0xc0000034" OBJECT_NAME_NOT_FOUND ...);
    /// interim STATUS_PENDING left out.
    #[serde(skip_serializing_if = "Counts::is_empty")]
    pub statuses: Counts,
    /// Messages that were part of a compound (NextCommand or RELATED set).
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub compounded: u64,
    /// Encrypted (TRANSFORM) and compressed messages, counted, not read.
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub opaque_messages: u64,
    /// Messages longer than `parse::MAX_PARSE_LEN` (file data), skipped unread.
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub large_messages: u64,
    /// Named-pipe bytes handed to DCE/RPC.
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub pipe_bytes: u64,
    /// Messages that could not be parsed, resynchronisations, and pipe data lost to caps.
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub malformed: u64,
    /// Requests (and requests held back for a CREATE's response) forgotten unanswered because
    /// `state::MAX_PENDING` others were waiting: what their responses would have shown (a
    /// tree, a pipe's FileId) is lost.
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub pending_dropped: u64,
    /// Trees connected after `state::MAX_TREES` were known on the connection: not
    /// remembered, so whether they are IPC$ is judged by the names opened on them (written
    /// when not 0).
    #[serde(skip_serializing_if = "crate::evidence::is_zero")]
    pub trees_dropped: u64,
}

impl Merge for SmbEvidence {
    fn merge(&mut self, o: Self) {
        self.dialects_offered.merge(o.dialects_offered);
        self.dialect.merge(o.dialect);
        self.encrypted |= o.encrypted;
        self.encryption.merge(o.encryption);
        self.ticket_spns.merge(o.ticket_spns);
        self.called_names.merge(o.called_names);
        self.calling_names.merge(o.calling_names);
        self.legacy_users.merge(o.legacy_users);
        self.legacy_anonymous += o.legacy_anonymous;
        self.trees.merge(o.trees);
        self.pipes.merge(o.pipes);
        self.files.merge(o.files);
        self.commands.merge(o.commands);
        self.statuses.merge(o.statuses);
        self.compounded += o.compounded;
        self.opaque_messages += o.opaque_messages;
        self.large_messages += o.large_messages;
        self.pipe_bytes += o.pipe_bytes;
        self.malformed += o.malformed;
        self.pending_dropped += o.pending_dropped;
        self.trees_dropped += o.trees_dropped;
    }
}
