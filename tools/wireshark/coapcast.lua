-- coapcast.lua: a Wireshark/tshark post-dissector for what coapcast adds to CoAP.
--
--   tshark -X lua_script:tools/wireshark/coapcast.lua -d udp.port==5683,coap -r run.pcap -V
--   (or copy it to ~/.local/lib/wireshark/plugins/)
--
-- Wireshark's CoAP dissector shows the drafts' options as "Unknown Option Number" and the
-- informative response as opaque bytes. This adds a "coapcast" tree to every CoAP message with:
--   * Multicast-Response-Feedback-Divider (draft-tiloca-core-observe-multicast-notifications-04
--     §5.1): coapcast.mrfd (the divider Q; empty in a feedback confirmation)
--   * Listen-To-Multicast-Responses (§9.1): coapcast.ltmr, its value (a serialized tp_info) decoded
--   * Performance Measurement (draft-ietf-core-coap-pm §3.1): coapcast.pm with pattern, Q/S or C
--     and the Event bits, decoded with coapcast's Event encoding (firmware/coap/pm.py):
--     pattern 0 Event = |E|L1 L0|D1 D0|, pattern 1 Event = |E|L1 L0|D2 D1 D0|
--   * the informative response (§2.2, a 5.03 with Content-Format application/informative-
--     response+cbor): ph_req and last_notif shown as CoAP messages rebuilt with the token T of
--     tp_info (as a client does, §3.2), tp_info fields named, keys 4-12 (§6.1) by name.
-- The option numbers and the Content-Format are TBD in the drafts: they are preferences (Edit >
-- Preferences > Protocols > coapcast, or tshark -o coapcast.pm_option:65006) with coapcast's defaults.

local p = Proto("coapcast", "coapcast (CoAP group observation, MRFD, LTMR, PM)")

p.prefs.mrfd_option = Pref.uint("MRFD option number", 65002, "Multicast-Response-Feedback-Divider")
p.prefs.ltmr_option = Pref.uint("LTMR option number", 65003, "Listen-To-Multicast-Responses")
p.prefs.pm_option = Pref.uint("PM option number", 65006, "Performance Measurement (coap-pm)")
p.prefs.cf_informative = Pref.uint("Informative response Content-Format", 65000,
                                   "application/informative-response+cbor")

local F = {
    mrfd = ProtoField.uint32("coapcast.mrfd", "Multicast-Response-Feedback-Divider"),
    mrfd_confirm = ProtoField.bool("coapcast.mrfd.confirmation", "Feedback confirmation (empty MRFD)"),
    ltmr = ProtoField.bytes("coapcast.ltmr", "Listen-To-Multicast-Responses"),
    pm = ProtoField.uint8("coapcast.pm", "Performance Measurement", base.HEX),
    pm_pattern = ProtoField.uint8("coapcast.pm.pattern", "Pattern"),
    pm_q = ProtoField.uint8("coapcast.pm.q", "Q (square wave)"),
    pm_s = ProtoField.uint8("coapcast.pm.s", "S (spin)"),
    pm_c = ProtoField.uint8("coapcast.pm.c", "C (Q xor delay sample)"),
    pm_event = ProtoField.uint8("coapcast.pm.event", "Event", base.HEX),
    pm_e = ProtoField.bool("coapcast.pm.event.valid", "E (event information present)"),
    pm_loss = ProtoField.uint8("coapcast.pm.event.loss_level", "Loss level (>= 1%/5%/10%)"),
    pm_delay = ProtoField.uint8("coapcast.pm.event.delay_level", "Delay level"),
    ir = ProtoField.none("coapcast.ir", "Informative response"),
    ph_req = ProtoField.bytes("coapcast.ir.ph_req", "ph_req (phantom request)"),
    ph_req_code = ProtoField.string("coapcast.ir.ph_req.code", "ph_req code"),
    last_notif = ProtoField.bytes("coapcast.ir.last_notif", "last_notif (latest notification)"),
    last_notif_code = ProtoField.string("coapcast.ir.last_notif.code", "last_notif code"),
    last_notif_observe = ProtoField.uint32("coapcast.ir.last_notif.observe", "last_notif Observe"),
    tp_info = ProtoField.none("coapcast.tp_info", "tp_info"),
    tp_id = ProtoField.uint8("coapcast.tp_info.tp_id", "Transport protocol (1: UDP)"),
    token = ProtoField.bytes("coapcast.tp_info.token", "Token T"),
    srv_addr = ProtoField.string("coapcast.tp_info.srv_addr", "srv_addr"),
    srv_port = ProtoField.uint16("coapcast.tp_info.srv_port", "srv_port"),
    cli_addr = ProtoField.string("coapcast.tp_info.cli_addr", "cli_addr (group)"),
    cli_port = ProtoField.uint16("coapcast.tp_info.cli_port", "cli_port (group port)"),
    extra = ProtoField.string("coapcast.ir.extra", "Group OSCORE field"),
    bad = ProtoField.string("coapcast.malformed", "Malformed"),
}
local fl = {}
for _, f in pairs(F) do fl[#fl + 1] = f end
p.fields = fl

local ef_bad = ProtoExpert.new("coapcast.malformed.expert", "coapcast: malformed field",
                               expert.group.MALFORMED, expert.severity.WARN)
p.experts = { ef_bad }

local coap_field = Field.new("coap")
local coap_dissector = Dissector.get("coap")

-- §2.2.2.1 / §10: keys 4-12 of the informative response
local KEY_NAMES = { [4] = "join_uri", [5] = "sec_gp", [6] = "as_uri", [7] = "cs_alg", [8] = "cs_crv",
                    [9] = "cs_kty", [10] = "cs_kenc", [11] = "alg", [12] = "hkdf" }
local CODE_CLASS = function(c) return string.format("%d.%02d", math.floor(c / 32), c % 32) end

-- ---- CoAP options (RFC 7252 §3.1) over a TvbRange -------------------------------------------
-- Calls fn(number, offset_of_value, length) for each option from `off`; returns the payload
-- offset (after 0xFF) or the end, or nil and a reason when malformed.
local function ext(r, off, nib)
    if nib < 13 then return nib, off end
    if nib == 13 then
        if off + 1 > r:len() then return nil end
        return r(off, 1):uint() + 13, off + 1
    end
    if nib == 14 then
        if off + 2 > r:len() then return nil end
        return r(off, 2):uint() + 269, off + 2
    end
    return nil
end

local function walk_options(r, off, fn)
    local num = 0
    local n = r:len()
    while off < n do
        local b = r(off, 1):uint()
        if b == 0xFF then return off + 1 end
        off = off + 1
        local d, l
        d, off = ext(r, off, math.floor(b / 16))
        if d == nil then return nil, "option delta" end
        l, off = ext(r, off, b % 16)
        if l == nil then return nil, "option length" end
        if off + l > n then return nil, "option value past the end" end
        num = num + d
        fn(num, off, l)
        off = off + l
    end
    return n
end

-- the range of a value, or of the byte before it (its header) when it is empty: Wireshark's
-- ranges have at least one byte
local function vr(r, off, len)
    if len > 0 then return r(off, len) end
    return r(off - 1, 1)
end

local function uint_at(r, off, len)
    if len == 0 then return 0 end
    if len > 4 then return nil end
    return r(off, len):uint()
end

-- ---- strict enough CBOR (RFC 8949) over a TvbRange --------------------------------------------
-- An item: {major=, off=, len= (whole item), val= (uint / length), voff= (content offset),
--           items= (array/map children), tag= (for major 6: the tagged item)}
local cbor_item
local function cbor_head(r, off)
    if off >= r:len() then return nil, "truncated" end
    local b = r(off, 1):uint()
    local major, ai = math.floor(b / 32), b % 32
    local v, o = ai, off + 1
    if ai == 24 then
        if o + 1 > r:len() then return nil, "truncated" end
        v, o = r(o, 1):uint(), o + 1
    elseif ai == 25 then
        if o + 2 > r:len() then return nil, "truncated" end
        v, o = r(o, 2):uint(), o + 2
    elseif ai == 26 then
        if o + 4 > r:len() then return nil, "truncated" end
        v, o = r(o, 4):uint(), o + 4
    elseif ai == 27 then
        if o + 8 > r:len() then return nil, "truncated" end
        v, o = r(o, 8):uint64():tonumber(), o + 8
    elseif ai >= 28 then
        return nil, "indefinite or reserved length"
    end
    return major, v, o
end

cbor_item = function(r, off, depth)
    if depth > 8 then return nil, "nested too deep" end
    local major, v, o = cbor_head(r, off)
    if major == nil then return nil, v end
    local it = { major = major, val = v, off = off, voff = o }
    if major == 2 or major == 3 then
        if o + v > r:len() then return nil, "string past the end" end
        it.len = o + v - off
    elseif major == 4 or major == 5 then
        local n = (major == 5) and 2 * v or v
        if n > r:len() then return nil, "count past the end" end
        it.items = {}
        for i = 1, n do
            local c, err = cbor_item(r, o, depth + 1)
            if c == nil then return nil, err end
            it.items[i] = c
            o = c.off + c.len
        end
        it.len = o - off
    elseif major == 6 then
        local c, err = cbor_item(r, o, depth + 1)
        if c == nil then return nil, err end
        it.tag = c
        it.len = c.off + c.len - off
    else
        it.len = o - off
    end
    return it
end

local function cbor_text(r, it)
    if it.major == 0 then return tostring(it.val) end
    if it.major == 1 then return tostring(-1 - it.val) end
    if it.major == 3 then return '"' .. r(it.voff, it.val):string() .. '"' end
    if it.major == 2 then return "h'" .. (it.val > 0 and r(it.voff, it.val):bytes():tohex() or "") .. "'" end
    if it.major == 6 then return tostring(it.val) .. "(" .. cbor_text(r, it.tag) .. ")" end
    if it.major == 4 then
        local s = {}
        for i, c in ipairs(it.items) do s[i] = cbor_text(r, c) end
        return "[" .. table.concat(s, ", ") .. "]"
    end
    return "(" .. r(it.off, it.len):bytes():tohex() .. ")"
end

local function ip_text(r, it)
    -- #6.260(bstr .size 4 / 16) (§2.2.2.1)
    if it.major ~= 6 or it.val ~= 260 or it.tag.major ~= 2 then return nil end
    local a = it.tag
    if a.val == 4 then return tostring(r(a.voff, 4):ipv4()) end
    if a.val == 16 then return tostring(r(a.voff, 16):ipv6()) end
    return nil
end

local function bad(tree, r, why)
    tree:add(F.bad, r, why):add_proto_expert_info(ef_bad, "coapcast: " .. why)
end

-- tp_info = [1, token, #6.260(srv_addr), srv_port, #6.260(cli_addr), ?cli_port] (§2.2.2.1)
local function add_tp_info(tree, r, it)
    local t = tree:add(F.tp_info, r(it.off, it.len))
    if it.major ~= 4 or #it.items < 5 then
        bad(t, r(it.off, it.len), "tp_info is not an array of 5 or 6 items")
        return nil
    end
    local c = it.items
    local tp = c[1]
    t:add(F.tp_id, r(tp.off, tp.len), tp.val)
    local token = nil
    if c[2].major == 2 and c[2].val <= 8 then
        if c[2].val > 0 then token = r(c[2].voff, c[2].val) end
        t:add(F.token, vr(r, c[2].voff, c[2].val))
    else
        bad(t, r(c[2].off, c[2].len), "tp_info token is not a byte string of 0-8 bytes")
    end
    local sa, ca = ip_text(r, c[3]), ip_text(r, c[5])
    if sa then t:add(F.srv_addr, r(c[3].off, c[3].len), sa) else bad(t, r(c[3].off, c[3].len), "srv_addr is not a tag-260 address") end
    t:add(F.srv_port, r(c[4].off, c[4].len), c[4].val)
    if ca then t:add(F.cli_addr, r(c[5].off, c[5].len), ca) else bad(t, r(c[5].off, c[5].len), "cli_addr is not a tag-260 address") end
    if c[6] then t:add(F.cli_port, r(c[6].off, c[6].len), c[6].val)
    else t:add(F.cli_port, r(it.off, it.len), 5683):append_text(" (default)") end
    t:append_text(string.format(": T=%s, server %s:%d, group %s:%d", token and token:bytes():tohex():lower() or "",
                                sa or "?", c[4].val, ca or "?", c[6] and c[6].val or 5683))
    return token
end

-- ph_req / last_notif (§2.2.1: code | options | 0xFF payload), rebuilt with T as a client does
local function add_tim(tree, pinfo, r, it, field, codefield, name, token)
    if it.major ~= 2 or it.val < 1 then
        bad(tree, r(it.off, it.len), name .. " is not a non-empty byte string")
        return
    end
    local v = r(it.voff, it.val)
    local t = tree:add(field, v)
    local code = v(0, 1):uint()
    t:add(codefield, v(0, 1), CODE_CLASS(code))
    if name == "last_notif" then
        walk_options(v, 1, function(num, off, len)
            if num == 6 then t:add(F.last_notif_observe, v(off, len), uint_at(v, off, len) or 0) end
        end)
    end
    -- rebuild a whole NON message: ver 1, type NON, TKL, code, MID 0, token T, the rest
    local tkl = token and token:len() or 0
    local ba = ByteArray.new(string.format("%02x%02x0000", 0x50 + tkl, code))
    if token then ba = ba .. token:bytes() end
    if v:len() > 1 then ba = ba .. v(1):bytes() end
    local ok = pcall(function()
        coap_dissector:call(ba:tvb(name .. " (rebuilt with T)"), pinfo, t)
    end)
    if not ok then bad(t, v, name .. " could not be shown as a CoAP message") end
end

local function dissect_inforesp(tree, pinfo, r)
    local it, err = cbor_item(r, 0, 0)
    local t = tree:add(F.ir, r)
    if it == nil then bad(t, r, "payload is not CBOR: " .. err) return end
    if it.major ~= 5 then bad(t, r, "payload is not a CBOR map") return end
    local by = {}
    for i = 1, #it.items, 2 do
        local k, v = it.items[i], it.items[i + 1]
        if k.major == 0 then by[k.val] = v end
    end
    local token = nil
    if by[3] then token = add_tp_info(t, r, by[3]) else bad(t, r, "tp_info (key 3) missing") end
    if by[1] then add_tim(t, pinfo, r, by[1], F.ph_req, F.ph_req_code, "ph_req", token)
    else bad(t, r, "ph_req (key 1) missing") end
    if by[2] then add_tim(t, pinfo, r, by[2], F.last_notif, F.last_notif_code, "last_notif", token)
    else bad(t, r, "last_notif (key 2) missing") end
    for k = 4, 12 do
        local v = by[k]
        if v then t:add(F.extra, r(v.off, v.len), KEY_NAMES[k] .. " = " .. cbor_text(r, v)) end
    end
end

-- Event = |E|L1 L0|D...| with `dbits` delay bits (pattern 0: 2, pattern 1: 3)
local function add_event(t, vrange, ev, dbits)
    local dmod = 2 ^ dbits
    local e = t:add(F.pm_event, vrange, ev)
    local valid = ev >= 4 * dmod
    e:add(F.pm_e, vrange, valid)
    if valid then
        e:add(F.pm_loss, vrange, math.floor(ev / dmod) % 4)
        e:add(F.pm_delay, vrange, ev % dmod)
    end
end

local function add_pm(tree, r, off, len)
    -- a uint option (RFC 7252 §3.2): the value 0 is sent as an empty option
    if len > 1 then
        bad(tree, r(off, len), "PM value is longer than one byte")
        return
    end
    local v = len == 1 and r(off, 1):uint() or 0
    local vrange = vr(r, off, len)
    local t = tree:add(F.pm, vrange, v)
    local b6 = math.floor(v / 64) % 2
    if v >= 0x80 then           -- pattern 1: |1|C|Event(6)|
        t:add(F.pm_pattern, vrange, 1)
        t:add(F.pm_c, vrange, b6)
        add_event(t, vrange, v % 64, 3)
        t:append_text(string.format(" (pattern 1, C=%d, Event=0x%02x)", b6, v % 64))
    else                        -- pattern 0: |0|Q|S|Event(5)|
        t:add(F.pm_pattern, vrange, 0)
        t:add(F.pm_q, vrange, b6)
        t:add(F.pm_s, vrange, math.floor(v / 32) % 2)
        add_event(t, vrange, v % 32, 2)
        t:append_text(string.format(" (pattern 0, Q=%d, S=%d, Event=0x%02x)", b6, math.floor(v / 32) % 2, v % 32))
    end
end

function p.dissector(_, pinfo, tree)
    local fi = coap_field()          -- the outermost CoAP message of this packet
    if fi == nil then return end
    local r = fi.range
    if r == nil or r:len() < 4 then return end
    local b0 = r(0, 1):uint()
    local tkl = b0 % 16
    local code = r(1, 1):uint()
    if tkl > 8 or 4 + tkl > r:len() then return end
    local mrfd, ltmr, pm = p.prefs.mrfd_option, p.prefs.ltmr_option, p.prefs.pm_option
    local t = nil
    local function sub()
        if t == nil then t = tree:add(p, r) end
        return t
    end
    local cf = nil
    local payload, err = walk_options(r, 4 + tkl, function(num, off, len)
        if num == 12 then cf = uint_at(r, off, len) end
        if num == mrfd then
            if len == 0 then
                sub():add(F.mrfd_confirm, vr(r, off, 0), true)
            else
                sub():add(F.mrfd, r(off, len), uint_at(r, off, len) or 0)
            end
        elseif num == ltmr then
            local l = sub():add(F.ltmr, vr(r, off, len))
            if len > 0 then
                local it, e = cbor_item(r(off, len), 0, 0)
                if it then add_tp_info(l, r(off, len), it) else bad(l, r(off, len), "LTMR value is not CBOR: " .. e) end
            end
        elseif num == pm then
            add_pm(sub(), r, off, len)
        end
    end)
    if payload == nil then
        bad(sub(), r, "CoAP " .. err)
        return
    end
    if code == 0xA3 and cf == p.prefs.cf_informative and payload < r:len() then
        dissect_inforesp(sub(), pinfo, r(payload))
    end
end

register_postdissector(p, true)
