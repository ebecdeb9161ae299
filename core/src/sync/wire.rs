//! The sync wire format: versioned frames carrying the protocol's messages.
//!
//! ```text
//! frame   = "KEFU" version:u16be kind:u8 body
//! Push    (kind 1) = store:16 round:u64 generation:u64 previous:(u32)*8 cursor mark n:u32 { id:str heads:hashes changes:bytes }*n
//!                    h:u32 { id:str heads:hashes }*h
//! Reply   (kind 2) = round:u64 cursor mark flags:u8 n:u32 {id heads}*n  m:u32 {id code message}*m
//!                    k:u32 {id heads changes}*k
//! Refuse  (kind 3) = code:str message:str
//! cursor, mark = seq:u64 stamp:u64    flags = bit 0 more, bit 1 resync
//! str, bytes = len:u32le data          hashes = n:u32le (32 bytes)*n
//! ```
//!
//! Version 2 added what makes every round's state confirmed by the receiver: the store's
//! install id and how many pushes it has made (a phone restored from a backup counts
//! fewer than the server has seen), the `have` list (what the device durably holds), stamped positions
//! in the server's history (so a position from a server's lost future is recognised)
//! and the round tag a reply echoes.
//!
//! **Stability boundary**: phones update late. A frame of another version is
//! refused with [`RefusalCode::ProtocolVersion`] and a message saying which side to
//! update, before anything in it is read. Decoding arbitrary bytes never panics and
//! never allocates more than the input could hold.

use automerge::ChangeHash;

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u16 = 2;
const MAGIC: &[u8; 4] = b"KEFU";

/// One message between a device and the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Device → server: local changes and the device's cursor.
    Push(Push),
    /// Server → device: what was accepted, refused, and what the device lacks.
    Reply(Reply),
    /// Either way: the whole frame was refused.
    Refuse(Refusal),
}

/// A device's round: every document with unacknowledged local changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Push {
    /// The device store's install id, made when the store was created: a new one means
    /// a reinstalled app, which holds nothing the server may assume.
    pub store: [u8; 16],
    /// The device's tag for this round; the reply carries it back, so a session can tell
    /// its answer from an unsolicited reply.
    pub round: u64,
    /// This store's pushes, counted durably before each is sent (upper 32 bits), and a
    /// random tag of this push (lower 32 bits). A phone restored from a backup counts fewer
    /// than the server has seen, or the same count with another tag: whatever the server
    /// learned from the pushes it lost is no longer true.
    pub generation: u64,
    /// The tags of this store's eight pushes before this one, the latest first. The server
    /// checks that a push continues the last one it saw: a phone restored from a backup
    /// starts a second line of pushes, told apart even when a push of either line is lost.
    pub previous: [u32; 8],
    /// The server's change sequence the device has caught up to.
    pub cursor: Cursor,
    /// The highest position whose document the device holds as the server acknowledged
    /// it (see [`Reply::mark`]).
    pub mark: Cursor,
    /// Changed documents.
    pub docs: Vec<DocPush>,
    /// What the device durably holds of documents it received since it last said so, or
    /// could not apply: the server records these heads as the device's and sends what
    /// they lack.
    pub have: Vec<DocHave>,
}

/// A position in a team's change sequence, with the stamp the server gave that position.
/// A server restored from an older backup reuses sequence numbers; their stamps differ,
/// so a cursor from the lost history is recognised instead of silently skipping changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    /// The sequence number (0: nothing seen yet).
    pub seq: u64,
    /// The server's random stamp for `seq` (0 for seq 0).
    pub stamp: u64,
}

/// What a device holds of one document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocHave {
    /// Document id.
    pub id: String,
    /// The device's heads (empty: it does not hold the document at all).
    pub heads: Vec<ChangeHash>,
}

/// One document's local changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocPush {
    /// Document id (case UUID or duty-log id).
    pub id: String,
    /// The device's heads after these changes.
    pub heads: Vec<ChangeHash>,
    /// Changes since the heads the server last acknowledged (the whole document if
    /// it never did).
    pub changes: Vec<u8>,
}

/// The server's answer to a push (or an unsolicited push of others' changes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reply {
    /// The round this answers (the push's tag); 0 for an unsolicited reply.
    pub round: u64,
    /// The server sequence the device is now caught up to.
    pub cursor: Cursor,
    /// The highest position of a document this reply acknowledges or updates. The cursor
    /// can lag behind it (a reply cut short by `more`); the device keeps the highest mark
    /// and sends it back, so a server restored to before it is recognised even then.
    pub mark: Cursor,
    /// More updates are waiting: push again (with no documents) to get them.
    pub more: bool,
    /// The device's cursor is not from this server's history (the server was restored
    /// from an older backup): nothing of the push was looked at. The device must treat
    /// every document as unacknowledged and start again from cursor 0.
    pub resync: bool,
    /// Documents accepted, with the server's heads after merging.
    pub acks: Vec<DocAck>,
    /// Documents refused, with why. Nothing of them was stored.
    pub refusals: Vec<DocRefusal>,
    /// Changes the device lacks.
    pub updates: Vec<DocUpdate>,
}

/// An accepted document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocAck {
    /// Document id.
    pub id: String,
    /// Server heads after the merge.
    pub heads: Vec<ChangeHash>,
}

/// A refused document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocRefusal {
    /// Document id.
    pub id: String,
    /// Why.
    pub refusal: Refusal,
}

/// Changes to one document the device lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocUpdate {
    /// Document id.
    pub id: String,
    /// Server heads: once applied, the device holds at least these.
    pub heads: Vec<ChangeHash>,
    /// The changes (automerge `save_after` chunks or a whole document).
    pub changes: Vec<u8>,
}

/// A refusal a device can show: a stable code and a sentence.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} ({})", code.code())]
pub struct Refusal {
    /// Stable code.
    pub code: RefusalCode,
    /// What a person should know.
    pub message: String,
}

impl Refusal {
    /// A refusal with a message.
    pub fn new(code: RefusalCode, message: impl Into<String>) -> Self {
        Refusal { code, message: message.into() }
    }
}

/// Why something was refused. The codes are part of the wire format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RefusalCode {
    /// The peer speaks another protocol version.
    ProtocolVersion,
    /// The frame could not be decoded.
    Malformed,
    /// The frame exceeds the size limit.
    TooLarge,
    /// More documents in one round than allowed.
    TooManyDocs,
    /// No token, or an unknown one.
    Unauthorized,
    /// The device's token was revoked.
    Revoked,
    /// The device may not touch this document.
    Forbidden,
    /// The changes break the document schema.
    Schema,
    /// The changes set a field only the server sets.
    ForgedField,
    /// The changes build on history the server does not have; resend the whole document.
    MissingBase,
    /// Too many requests; try later.
    RateLimited,
    /// Too many connections for this token.
    TooManyConnections,
    /// The same document twice in one push.
    DuplicateDoc,
    /// A change the server lacks was written by an actor that is not the pushing device's.
    ForeignActor,
    /// A timeline entry names an author other than the staff member the device is issued to.
    ForgedAuthor,
    /// A document expands past the size budget (`AdmissionBudget`).
    DocTooLarge,
    /// A document holds more operations than the budget allows.
    DocTooManyOps,
    /// A document creates more objects than the budget allows.
    DocTooManyObjects,
    /// A server fault; try later.
    Internal,
    /// A code from a newer peer.
    Unknown,
}

impl RefusalCode {
    const TABLE: [(RefusalCode, &'static str); 19] = [
        (RefusalCode::ProtocolVersion, "protocol.version"),
        (RefusalCode::Malformed, "frame.malformed"),
        (RefusalCode::TooLarge, "frame.too_large"),
        (RefusalCode::TooManyDocs, "round.too_many_docs"),
        (RefusalCode::Unauthorized, "auth.invalid_token"),
        (RefusalCode::Revoked, "auth.revoked"),
        (RefusalCode::Forbidden, "access.forbidden"),
        (RefusalCode::Schema, "doc.schema"),
        (RefusalCode::ForgedField, "doc.forged_field"),
        (RefusalCode::MissingBase, "doc.missing_base"),
        (RefusalCode::RateLimited, "rate.limited"),
        (RefusalCode::TooManyConnections, "conn.too_many"),
        (RefusalCode::DuplicateDoc, "round.duplicate_doc"),
        (RefusalCode::ForeignActor, "doc.foreign_actor"),
        (RefusalCode::ForgedAuthor, "doc.forged_author"),
        (RefusalCode::DocTooLarge, "doc.too_large"),
        (RefusalCode::DocTooManyOps, "doc.too_many_ops"),
        (RefusalCode::DocTooManyObjects, "doc.too_many_objects"),
        (RefusalCode::Internal, "server.internal"),
    ];

    /// The stable code string.
    pub fn code(self) -> &'static str {
        Self::TABLE.iter().find(|(code, _)| *code == self).map_or("unknown", |(_, text)| text)
    }

    /// The code for a string; [`RefusalCode::Unknown`] for codes from newer peers.
    pub fn from_code(text: &str) -> Self {
        Self::TABLE.iter().find(|(_, known)| *known == text).map_or(RefusalCode::Unknown, |(code, _)| *code)
    }
}

/// Why bytes could not be decoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Larger than the receiver accepts.
    #[error("frame is {len} bytes, at most {max} accepted")]
    TooLarge {
        /// Frame size.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// Not a kefu frame.
    #[error("not a kefu sync frame")]
    BadMagic,
    /// Another protocol version.
    #[error("peer speaks sync protocol {0}, this side speaks {PROTOCOL_VERSION}")]
    Version(u16),
    /// Ended early or has bad contents.
    #[error("malformed frame: {0}")]
    Malformed(&'static str),
}

impl DecodeError {
    /// The refusal to send back for this decoding failure.
    pub fn refusal(&self) -> Refusal {
        let code = match self {
            DecodeError::TooLarge { .. } => RefusalCode::TooLarge,
            DecodeError::Version(_) => RefusalCode::ProtocolVersion,
            DecodeError::BadMagic | DecodeError::Malformed(_) => RefusalCode::Malformed,
        };
        let message = match self {
            DecodeError::Version(version) if *version < PROTOCOL_VERSION => {
                format!("this app speaks sync protocol {version}, the server needs {PROTOCOL_VERSION}: update the app")
            }
            DecodeError::Version(version) => {
                format!("sync protocol {version} is newer than this server's {PROTOCOL_VERSION}: update the server")
            }
            other => other.to_string(),
        };
        Refusal { code, message }
    }
}

/// Encodes a message as one frame.
pub fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
    match message {
        Message::Push(push) => {
            out.push(1);
            out.extend_from_slice(&push.store);
            out.extend_from_slice(&push.round.to_le_bytes());
            out.extend_from_slice(&push.generation.to_le_bytes());
            for tag in push.previous {
                out.extend_from_slice(&tag.to_le_bytes());
            }
            put_cursor(&mut out, push.cursor);
            put_cursor(&mut out, push.mark);
            put_len(&mut out, push.docs.len());
            for doc in &push.docs {
                put_bytes(&mut out, doc.id.as_bytes());
                put_heads(&mut out, &doc.heads);
                put_bytes(&mut out, &doc.changes);
            }
            put_len(&mut out, push.have.len());
            for have in &push.have {
                put_bytes(&mut out, have.id.as_bytes());
                put_heads(&mut out, &have.heads);
            }
        }
        Message::Reply(reply) => {
            out.push(2);
            out.extend_from_slice(&reply.round.to_le_bytes());
            put_cursor(&mut out, reply.cursor);
            put_cursor(&mut out, reply.mark);
            out.push(u8::from(reply.more) | (u8::from(reply.resync) << 1));
            put_len(&mut out, reply.acks.len());
            for ack in &reply.acks {
                put_bytes(&mut out, ack.id.as_bytes());
                put_heads(&mut out, &ack.heads);
            }
            put_len(&mut out, reply.refusals.len());
            for refused in &reply.refusals {
                put_bytes(&mut out, refused.id.as_bytes());
                put_refusal(&mut out, &refused.refusal);
            }
            put_len(&mut out, reply.updates.len());
            for update in &reply.updates {
                put_bytes(&mut out, update.id.as_bytes());
                put_heads(&mut out, &update.heads);
                put_bytes(&mut out, &update.changes);
            }
        }
        Message::Refuse(refusal) => {
            out.push(3);
            put_refusal(&mut out, refusal);
        }
    }
    out
}

/// Decodes one frame of at most `max_len` bytes.
pub fn decode(bytes: &[u8], max_len: usize) -> Result<Message, DecodeError> {
    if bytes.len() > max_len {
        return Err(DecodeError::TooLarge { len: bytes.len(), max: max_len });
    }
    let mut input = Input(bytes);
    if input.take(4).ok() != Some(MAGIC.as_slice()) {
        return Err(DecodeError::BadMagic);
    }
    let version = u16::from_be_bytes(input.array()?);
    if version != PROTOCOL_VERSION {
        return Err(DecodeError::Version(version));
    }
    let message = match input.array::<1>()?[0] {
        1 => {
            let store = input.array()?;
            let round = u64::from_le_bytes(input.array()?);
            let generation = u64::from_le_bytes(input.array()?);
            let mut previous = [0u32; 8];
            for tag in &mut previous {
                *tag = u32::from_le_bytes(input.array()?);
            }
            let cursor = input.cursor()?;
            let mark = input.cursor()?;
            let docs = input.list(|input| {
                Ok(DocPush { id: input.string()?, heads: input.heads()?, changes: input.bytes()?.to_vec() })
            })?;
            let have = input.list(|input| Ok(DocHave { id: input.string()?, heads: input.heads()? }))?;
            Message::Push(Push { store, round, generation, previous, cursor, mark, docs, have })
        }
        2 => {
            let round = u64::from_le_bytes(input.array()?);
            let cursor = input.cursor()?;
            let mark = input.cursor()?;
            let flags = input.array::<1>()?[0];
            if flags > 0b11 {
                return Err(DecodeError::Malformed("reply flags"));
            }
            let (more, resync) = (flags & 1 == 1, flags & 2 == 2);
            let acks = input.list(|input| Ok(DocAck { id: input.string()?, heads: input.heads()? }))?;
            let refusals = input.list(|input| Ok(DocRefusal { id: input.string()?, refusal: input.refusal()? }))?;
            let updates = input.list(|input| {
                Ok(DocUpdate { id: input.string()?, heads: input.heads()?, changes: input.bytes()?.to_vec() })
            })?;
            Message::Reply(Reply { round, cursor, mark, more, resync, acks, refusals, updates })
        }
        3 => Message::Refuse(input.refusal()?),
        _ => return Err(DecodeError::Malformed("unknown message kind")),
    };
    if !input.0.is_empty() {
        return Err(DecodeError::Malformed("trailing bytes"));
    }
    Ok(message)
}

fn put_len(out: &mut Vec<u8>, len: usize) {
    out.extend_from_slice(&u32::try_from(len).expect("frames stay far below 4 GiB").to_le_bytes());
}

fn put_cursor(out: &mut Vec<u8>, cursor: Cursor) {
    out.extend_from_slice(&cursor.seq.to_le_bytes());
    out.extend_from_slice(&cursor.stamp.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn put_heads(out: &mut Vec<u8>, heads: &[ChangeHash]) {
    put_len(out, heads.len());
    for head in heads {
        out.extend_from_slice(&head.0);
    }
}

fn put_refusal(out: &mut Vec<u8>, refusal: &Refusal) {
    put_bytes(out, refusal.code.code().as_bytes());
    put_bytes(out, refusal.message.as_bytes());
}

/// The unread rest of a frame.
struct Input<'a>(&'a [u8]);

impl<'a> Input<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.0.len() < n {
            return Err(DecodeError::Malformed("frame ends early"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        Ok(self.take(N)?.try_into().expect("take returned N bytes"))
    }

    fn len(&mut self) -> Result<usize, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?) as usize)
    }

    fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.len()?;
        self.take(len)
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        std::str::from_utf8(self.bytes()?).map(str::to_string).map_err(|_| DecodeError::Malformed("invalid UTF-8"))
    }

    fn heads(&mut self) -> Result<Vec<ChangeHash>, DecodeError> {
        let n = self.len()?;
        if n > self.0.len() / 32 {
            return Err(DecodeError::Malformed("more heads than bytes"));
        }
        (0..n).map(|_| Ok(ChangeHash(self.array()?))).collect()
    }

    fn cursor(&mut self) -> Result<Cursor, DecodeError> {
        Ok(Cursor { seq: u64::from_le_bytes(self.array()?), stamp: u64::from_le_bytes(self.array()?) })
    }

    fn refusal(&mut self) -> Result<Refusal, DecodeError> {
        Ok(Refusal { code: RefusalCode::from_code(&self.string()?), message: self.string()? })
    }

    /// A counted list; the count is checked against the bytes left (each item takes
    /// at least 4) so a forged count cannot make us allocate gigabytes.
    fn list<T>(&mut self, item: impl Fn(&mut Self) -> Result<T, DecodeError>) -> Result<Vec<T>, DecodeError> {
        let n = self.len()?;
        if n > self.0.len() / 4 {
            return Err(DecodeError::Malformed("more items than bytes"));
        }
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(item(self)?);
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hash(byte: u8) -> ChangeHash {
        ChangeHash([byte; 32])
    }

    #[test]
    fn versions_and_garbage_are_refused_with_the_right_code() {
        let mut frame = encode(&Message::Refuse(Refusal::new(RefusalCode::Internal, "x")));
        frame[4..6].copy_from_slice(&0u16.to_be_bytes());
        assert_eq!(decode(&frame, 1 << 20), Err(DecodeError::Version(0)));
        assert_eq!(
            DecodeError::Version(0).refusal().message,
            "this app speaks sync protocol 0, the server needs 2: update the app"
        );
        assert_eq!(decode(b"HTTP/1.1", 1 << 20), Err(DecodeError::BadMagic));
        assert_eq!(decode(&[0; 100], 10), Err(DecodeError::TooLarge { len: 100, max: 10 }));
        let mut push = encode(&Message::Push(Push::default()));
        push.push(0);
        assert_eq!(decode(&push, 1 << 20), Err(DecodeError::Malformed("trailing bytes")));
        assert_eq!(RefusalCode::from_code("doc.schema"), RefusalCode::Schema);
        assert_eq!(RefusalCode::from_code("from.the.future"), RefusalCode::Unknown);
    }

    fn message() -> impl Strategy<Value = Message> {
        let heads = proptest::collection::vec(any::<u8>().prop_map(hash), 0..3);
        let bytes = proptest::collection::vec(any::<u8>(), 0..40);
        let id = "[a-z0-9:-]{0,20}";
        let cursor = (any::<u64>(), any::<u64>()).prop_map(|(seq, stamp)| Cursor { seq, stamp });
        let push = (
            (any::<[u8; 16]>(), any::<u64>(), any::<u64>(), any::<[u32; 8]>()),
            (cursor.clone(), cursor.clone()),
            proptest::collection::vec((id, heads.clone(), bytes.clone()), 0..4),
            proptest::collection::vec((id, heads.clone()), 0..3),
        )
            .prop_map(|((store, round, generation, previous), (cursor, mark), docs, have)| {
                Message::Push(Push {
                    store,
                    round,
                    generation,
                    previous,
                    cursor,
                    mark,
                    docs: docs.into_iter().map(|(id, heads, changes)| DocPush { id, heads, changes }).collect(),
                    have: have.into_iter().map(|(id, heads)| DocHave { id, heads }).collect(),
                })
            });
        let reply = (
            (any::<u64>(), cursor.clone(), cursor, any::<bool>(), any::<bool>()),
            proptest::collection::vec((id, heads, bytes), 0..4),
            "[ -~]{0,30}",
        )
            .prop_map(|((round, cursor, mark, more, resync), docs, message)| {
                Message::Reply(Reply {
                    round,
                    cursor,
                    mark,
                    more,
                    resync,
                    acks: docs.iter().map(|(id, heads, _)| DocAck { id: id.clone(), heads: heads.clone() }).collect(),
                    refusals: docs
                        .iter()
                        .map(|(id, _, _)| DocRefusal {
                            id: id.clone(),
                            refusal: Refusal::new(RefusalCode::Schema, message.clone()),
                        })
                        .collect(),
                    updates: docs.into_iter().map(|(id, heads, changes)| DocUpdate { id, heads, changes }).collect(),
                })
            });
        prop_oneof![push, reply]
    }

    proptest! {
        // A failure is reported, never written into the source tree.
        #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn encode_decode_round_trips(message in message()) {
            prop_assert_eq!(decode(&encode(&message), usize::MAX), Ok(message));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&bytes, 1 << 20);
            let mut framed = b"KEFU\x00\x02".to_vec();
            framed.extend_from_slice(&bytes);
            let _ = decode(&framed, 1 << 20);
        }
    }
}
