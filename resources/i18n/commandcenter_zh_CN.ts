<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<!--
  Chinese (zh_CN) catalogue of the command-hall UI. Hand-maintained: contexts are the
  class names whose self.tr() holds the English source. Placeholders in {braces} are
  filled by Python str.format and must survive translation (tests/test_i18n.py checks).
  Domain words from data (case states, sources, link states) are not here: their Chinese
  labels live in commandcenter/domain.py and commandcenter/status.py.
  Compile: .venv/bin/pyside6-lrelease resources/i18n/*.ts
-->
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>MainWindow</name>
    <message>
        <source>Command Center</source>
        <translation>指挥中心</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>Switch language</source>
        <translation>切换语言</translation>
    </message>
    <message>
        <source>&amp;Full screen</source>
        <translation>全屏(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>Switch language (Ctrl+L)</source>
        <translation>切换语言 (Ctrl+L)</translation>
    </message>
</context>
<context>
    <name>StatusStrip</name>
    <message>
        <source>Feed link: {state} since {time}</source>
        <translation>数据链路：{state}（自 {time} 起）</translation>
    </message>
    <message>
        <source>Reconnects: {reconnects}, resyncs: {resyncs}</source>
        <translation>重连 {reconnects} 次，重新同步 {resyncs} 次</translation>
    </message>
    <message>
        <source>received {n}</source>
        <translation>接收 {n}</translation>
    </message>
    <message>
        <source>Events received {received}, applied {applied}, duplicates {duplicates}</source>
        <translation>已接收事件 {received}，已应用 {applied}，重复 {duplicates}</translation>
    </message>
    <message>
        <source>quarantined {n}</source>
        <translation>隔离 {n}</translation>
    </message>
    <message>
        <source>Quarantined (malformed) events by reason:</source>
        <translation>已隔离（格式错误）的事件，按原因：</translation>
    </message>
    <message>
        <source>Unknown event kinds (skipped):</source>
        <translation>未知事件类型（已跳过）：</translation>
    </message>
    <message>
        <source>Connection errors by cause:</source>
        <translation>连接错误，按原因：</translation>
    </message>
    <message>
        <source>Last error: {error}</source>
        <translation>最近错误：{error}</translation>
    </message>
    <message>
        <source>No problems recorded.</source>
        <translation>无异常记录。</translation>
    </message>
    <message>
        <source>no data yet</source>
        <translation>尚无数据</translation>
    </message>
    <message>
        <source>data {age} s old</source>
        <translation>数据 {age} 秒前</translation>
    </message>
    <message>
        <source>data {age} min old</source>
        <translation>数据 {age} 分钟前</translation>
    </message>
    <message>
        <source>data {age} h old</source>
        <translation>数据 {age} 小时前</translation>
    </message>
    <message>
        <source>Time since the server last proved alive (event or heartbeat)</source>
        <translation>距服务器上次确认在线（事件或心跳）的时间</translation>
    </message>
    <message>
        <source>Feed clock {date} (the server&apos;s time; the demo county may run faster)</source>
        <translation>数据源时钟 {date}（服务器时间；演示县可能快于实际时间运行）</translation>
    </message>
</context>
<context>
    <name>SlaTiles</name>
    <message>
        <source>Red warning</source>
        <translation>红色预警</translation>
    </message>
    <message>
        <source>≥ {hi}% of time limit used</source>
        <translation>已用时限 ≥ {hi}%</translation>
    </message>
    <message>
        <source>Open cases that have used at least {hi}% of their time limit, or are overdue.</source>
        <translation>已用时限达到 {hi}% 及以上或已超时的在办案件。</translation>
    </message>
    <message>
        <source>Yellow warning</source>
        <translation>黄色预警</translation>
    </message>
    <message>
        <source>{lo}–{hi}% of time limit used</source>
        <translation>已用时限 {lo}%–{hi}%</translation>
    </message>
    <message>
        <source>Open cases that have used at least {lo}% but less than {hi}% of their time limit.</source>
        <translation>已用时限达到 {lo}% 但不足 {hi}% 的在办案件。</translation>
    </message>
    <message>
        <source>Blue warning</source>
        <translation>蓝色预警</translation>
    </message>
    <message>
        <source>&lt; {lo}% of time limit used</source>
        <translation>已用时限 &lt; {lo}%</translation>
    </message>
    <message>
        <source>Open cases that have used less than {lo}% of their time limit.</source>
        <translation>已用时限不足 {lo}% 的在办案件。</translation>
    </message>
    <message>
        <source>Overdue</source>
        <translation>已超时</translation>
    </message>
    <message>
        <source>past the deadline</source>
        <translation>已超过当前环节时限</translation>
    </message>
    <message>
        <source>Open cases past the deadline of their current step: sign and assign, arrive on site, or handle and report back. Overdue cases are also counted as red.</source>
        <translation>已超过当前环节（签收派遣、到场或处置反馈）时限的在办案件。超时案件同时计入红色预警。</translation>
    </message>
    <message>
        <source>Open cases</source>
        <translation>在办案件</translation>
    </message>
    <message>
        <source>still the hall&apos;s business</source>
        <translation>尚未办结，时限计时中</translation>
    </message>
    <message>
        <source>Cases discovered, reported, signed, dispatched, returned or being handled: every case a time limit runs for.</source>
        <translation>处于发现、待签收、已签收、已派遣、已退回或处置中的案件，即所有仍在计算时限的案件。</translation>
    </message>
</context>
<context>
    <name>NewestCasesModel</name>
    <message>
        <source>Urgent</source>
        <translation>急</translation>
    </message>
    <message>
        <source>Case ID</source>
        <translation>案件编号</translation>
    </message>
    <message>
        <source>Filed</source>
        <translation>上报时间</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Township</source>
        <translation>乡镇</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Time left</source>
        <translation>剩余时限</translation>
    </message>
    <message>
        <source>Assignee</source>
        <translation>承办单位</translation>
    </message>
    <message>
        <source>overdue {time}</source>
        <translation>超时 {time}</translation>
    </message>
    <message>
        <source>Red</source>
        <translation>红色</translation>
    </message>
    <message>
        <source>Yellow</source>
        <translation>黄色</translation>
    </message>
    <message>
        <source>Blue</source>
        <translation>蓝色</translation>
    </message>
    <message>
        <source>sign and assign</source>
        <translation>签收派遣</translation>
    </message>
    <message>
        <source>arrive on site</source>
        <translation>到场</translation>
    </message>
    <message>
        <source>handle and report back</source>
        <translation>处置反馈</translation>
    </message>
    <message>
        <source>No time limit runs: the case is {state}.</source>
        <translation>案件{state}，不再计时。</translation>
    </message>
    <message>
        <source>{level} warning: {step} due {deadline}, {used}% of the limit used</source>
        <translation>{level}预警：{step}时限至 {deadline}，已用 {used}%</translation>
    </message>
    <message>
        <source>Filed {time} · grid {grid}</source>
        <translation>上报于 {time} · 网格 {grid}</translation>
    </message>
</context>
<context>
    <name>OverviewPanel</name>
    <message>
        <source>Newest cases</source>
        <translation>最新案件</translation>
    </message>
    <message>
        <source>newest {shown} of {total} cases</source>
        <translation>共 {total} 件，显示最新 {shown} 件</translation>
    </message>
</context>
</TS>
