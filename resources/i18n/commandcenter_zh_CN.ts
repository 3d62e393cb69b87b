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
<context>
    <name>AlertsModel</name>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Level</source>
        <translation>级别</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Message</source>
        <translation>内容</translation>
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
        <source>Time limit</source>
        <translation>超时</translation>
    </message>
    <message>
        <source>Cluster</source>
        <translation>聚集</translation>
    </message>
    <message>
        <source>Sensor</source>
        <translation>物联感知</translation>
    </message>
    <message>
        <source>Case {case} (select to show it everywhere)</source>
        <translation>案件 {case}（点选后各面板同步显示）</translation>
    </message>
    <message>
        <source>Grid {grid}</source>
        <translation>网格 {grid}</translation>
    </message>
    <message>
        <source>Raised {time} · {kind}</source>
        <translation>告警于 {time} · {kind}</translation>
    </message>
</context>
<context>
    <name>FeedStatusPanel</name>
    <message>
        <source>since {time}</source>
        <translation>自 {time} 起</translation>
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
        <source>received</source>
        <translation>接收</translation>
    </message>
    <message>
        <source>applied</source>
        <translation>已应用</translation>
    </message>
    <message>
        <source>duplicates</source>
        <translation>重复</translation>
    </message>
    <message>
        <source>quarantined</source>
        <translation>隔离</translation>
    </message>
    <message>
        <source>reconnects</source>
        <translation>重连</translation>
    </message>
    <message>
        <source>resyncs</source>
        <translation>重新同步</translation>
    </message>
    <message>
        <source>Events received from the feed since the program started</source>
        <translation>程序启动以来从数据源接收的事件数</translation>
    </message>
    <message>
        <source>Events applied to the live model</source>
        <translation>已应用到实时模型的事件数</translation>
    </message>
    <message>
        <source>Events received twice (after a reconnect) and skipped: never counted twice</source>
        <translation>重复收到（重连后）而跳过的事件：绝不重复计数</translation>
    </message>
    <message>
        <source>Malformed events set aside; the reasons are listed below</source>
        <translation>格式错误而被隔离的事件；原因见下表</translation>
    </message>
    <message>
        <source>Times the link was lost and opened again</source>
        <translation>链路断开后重新连接的次数</translation>
    </message>
    <message>
        <source>Times the server could not resume and a new snapshot was taken</source>
        <translation>服务器无法续传而重新获取快照的次数</translation>
    </message>
    <message>
        <source>Time since the server last proved alive (event or heartbeat)</source>
        <translation>距服务器上次确认在线（事件或心跳）的时间</translation>
    </message>
    <message>
        <source>Refused and failed, by reason</source>
        <translation>被拒收和失败，按原因</translation>
    </message>
    <message>
        <source>Recent bad events</source>
        <translation>最近的坏数据</translation>
    </message>
    <message>
        <source>unknown kind</source>
        <translation>未知类型</translation>
    </message>
    <message>
        <source>connection</source>
        <translation>连接</translation>
    </message>
    <message>
        <source>Count</source>
        <translation>次数</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Detail</source>
        <translation>详情</translation>
    </message>
    <message>
        <source>No problems recorded.</source>
        <translation>无异常记录。</translation>
    </message>
    <message>
        <source>Last error: {error}</source>
        <translation>最近错误：{error}</translation>
    </message>
</context>
<context>
    <name>KpisPanel</name>
    <message>
        <source>No KPIs reported by the feed yet.</source>
        <translation>数据源尚未报送考核指标。</translation>
    </message>
    <message>
        <source>No target is set for this indicator.</source>
        <translation>此指标未设目标。</translation>
    </message>
    <message>
        <source>no data</source>
        <translation>无数据</translation>
    </message>
    <message>
        <source>Value: {value} {unit}</source>
        <translation>数值：{value} {unit}</translation>
    </message>
    <message>
        <source>no target</source>
        <translation>未设目标</translation>
    </message>
    <message>
        <source>target ≥ {target}</source>
        <translation>目标 ≥ {target}</translation>
    </message>
    <message>
        <source>Target: at least {target}; {verdict}</source>
        <translation>目标：不低于 {target}；{verdict}</translation>
    </message>
    <message>
        <source>The feed has not reported {name} yet.</source>
        <translation>数据源尚未报送 {name}。</translation>
    </message>
    <message>
        <source>met</source>
        <translation>已达标</translation>
    </message>
    <message>
        <source>missed</source>
        <translation>未达标</translation>
    </message>
    <message>
        <source>(as computed by the reference feed, the demo county)</source>
        <translation>（按参考数据源即演示县的算法）</translation>
    </message>
    <message>
        <source>Trend line: {n} samples since {since}, lowest {low}, highest {high}</source>
        <translation>走势线：自 {since} 起 {n} 个采样，最低 {low}，最高 {high}</translation>
    </message>
    <message>
        <source>reported by the platform</source>
        <translation>平台报送</translation>
    </message>
    <message>
        <source>target {op} {target}</source>
        <translation>目标 {op} {target}</translation>
    </message>
    <message>
        <source>today</source>
        <translation>今日</translation>
    </message>
    <message>
        <source>{n} days</source>
        <translation>近{n}日</translation>
    </message>
    <message>
        <source>platform {value}</source>
        <translation>平台 {value}</translation>
    </message>
    <message>
        <source>The platform reports {value}</source>
        <translation>平台报送 {value}</translation>
    </message>
    <message>
        <source>: differs from ours by {d} (different cases, window or definition)</source>
        <translation>，与本系统相差 {d}（案件、窗口或口径不同）</translation>
    </message>
    <message>
        <source>: agrees with ours</source>
        <translation>，与本系统一致</translation>
    </message>
    <message>
        <source>(the platform&apos;s figure: no case held here stands behind it)</source>
        <translation>（平台数据：本系统没有对应案件）</translation>
    </message>
</context>
<context>
    <name>NewestCasesPanel</name>
    <message>
        <source>newest {shown} of {total} cases</source>
        <translation>共 {total} 件，显示最新 {shown} 件</translation>
    </message>
</context>
<context>
    <name>CommandPalette</name>
    <message>
        <source>Command palette</source>
        <translation>命令面板</translation>
    </message>
    <message>
        <source>Type a command, e.g. save, 布局, full screen</source>
        <translation>输入命令，例如：保存、布局、全屏</translation>
    </message>
    <message>
        <source>Enter runs · Esc closes · ↑↓ choose</source>
        <translation>回车执行 · Esc 关闭 · ↑↓ 选择</translation>
    </message>
</context>
<context>
    <name>ShellCommands</name>
    <message>
        <source>&amp;Layout</source>
        <translation>布局(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Open layout</source>
        <translation>打开布局(&amp;O)</translation>
    </message>
    <message>
        <source>Open &amp;preset</source>
        <translation>打开预设(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;Panels</source>
        <translation>面板(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;Add panel</source>
        <translation>添加面板(&amp;A)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>Save layout as</source>
        <translation>布局另存为</translation>
    </message>
    <message>
        <source>Rename layout</source>
        <translation>重命名布局</translation>
    </message>
    <message>
        <source>Layout name:</source>
        <translation>布局名称：</translation>
    </message>
    <message>
        <source>Export layout</source>
        <translation>导出布局</translation>
    </message>
    <message>
        <source>Import layout</source>
        <translation>导入布局</translation>
    </message>
    <message>
        <source>Layout files (*.json)</source>
        <translation>布局文件 (*.json)</translation>
    </message>
    <message>
        <source>Delete the layout “{name}” from this computer?</source>
        <translation>从本机删除布局“{name}”？</translation>
    </message>
    <message>
        <source>Layout “{name}” saved</source>
        <translation>布局“{name}”已保存</translation>
    </message>
    <message>
        <source>Layout “{name}” imported</source>
        <translation>布局“{name}”已导入</translation>
    </message>
    <message>
        <source>Layout exported to {path}</source>
        <translation>布局已导出到 {path}</translation>
    </message>
    <message>
        <source>The layout could not be used</source>
        <translation>布局无法使用</translation>
    </message>
    <message>
        <source>No panel has the focus: click into a panel first.</source>
        <translation>没有选中的面板：请先点击一个面板。</translation>
    </message>
    <message>
        <source>This panel has no settings.</source>
        <translation>此面板没有可设置的项目。</translation>
    </message>
    <message>
        <source>“{name}” is shown from {start} to {end}</source>
        <translation>“{name}”将在 {start} 至 {end} 显示</translation>
    </message>
    <message>
        <source>“{name}” is no longer bound to a shift</source>
        <translation>“{name}”已不再绑定班次</translation>
    </message>
    <message>
        <source>(none yet)</source>
        <translation>（暂无）</translation>
    </message>
    <message>
        <source>&amp;Save layout</source>
        <translation>保存布局(&amp;S)</translation>
    </message>
    <message>
        <source>Save the arrangement of every screen</source>
        <translation>保存每块屏幕的面板布置</translation>
    </message>
    <message>
        <source>Save layout &amp;as…</source>
        <translation>布局另存为(&amp;A)…</translation>
    </message>
    <message>
        <source>Save the arrangement under a new name</source>
        <translation>以新名称保存当前布置</translation>
    </message>
    <message>
        <source>&amp;Rename layout…</source>
        <translation>重命名布局(&amp;R)…</translation>
    </message>
    <message>
        <source>Give the current layout a new name</source>
        <translation>给当前布局改名</translation>
    </message>
    <message>
        <source>&amp;Delete layout</source>
        <translation>删除布局(&amp;D)</translation>
    </message>
    <message>
        <source>Delete the current layout from this computer (presets stay)</source>
        <translation>从本机删除当前布局（预设布局保留）</translation>
    </message>
    <message>
        <source>&amp;Export layout…</source>
        <translation>导出布局(&amp;E)…</translation>
    </message>
    <message>
        <source>Write the layout to a file for another hall or a backup</source>
        <translation>把布局写入文件，用于其他大厅或备份</translation>
    </message>
    <message>
        <source>&amp;Import layout…</source>
        <translation>导入布局(&amp;I)…</translation>
    </message>
    <message>
        <source>Read a layout file; it is checked and upgraded before use</source>
        <translation>读取布局文件；使用前会校验并升级</translation>
    </message>
    <message>
        <source>&amp;Bind to schedule…</source>
        <translation>绑定班次(&amp;B)…</translation>
    </message>
    <message>
        <source>Show this layout during a shift (day or night)</source>
        <translation>在某个班次（白班或夜班）显示此布局</translation>
    </message>
    <message>
        <source>Panel &amp;settings…</source>
        <translation>面板设置(&amp;S)…</translation>
    </message>
    <message>
        <source>Edit the settings of the focused panel</source>
        <translation>编辑当前选中面板的设置</translation>
    </message>
    <message>
        <source>&amp;Full screen this screen</source>
        <translation>本屏全屏(&amp;F)</translation>
    </message>
    <message>
        <source>Fill this screen with its window</source>
        <translation>让窗口铺满本块屏幕</translation>
    </message>
    <message>
        <source>&amp;Kiosk</source>
        <translation>展示模式(&amp;K)</translation>
    </message>
    <message>
        <source>Frameless full screen without menus; the same keys leave it</source>
        <translation>无边框全屏、隐藏菜单；再按同一快捷键退出</translation>
    </message>
    <message>
        <source>Switch &amp;language</source>
        <translation>切换语言(&amp;L)</translation>
    </message>
    <message>
        <source>Switch between Chinese and English</source>
        <translation>在中文和英文之间切换</translation>
    </message>
    <message>
        <source>&amp;Command palette…</source>
        <translation>命令面板(&amp;C)…</translation>
    </message>
    <message>
        <source>Find and run any command by typing its name</source>
        <translation>输入名称查找并执行任何命令</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>Close every window and stop</source>
        <translation>关闭所有窗口并退出</translation>
    </message>
</context>
<context>
    <name>ScheduleDialog</name>
    <message>
        <source>Custom hours</source>
        <translation>自定义时段</translation>
    </message>
    <message>
        <source>Not bound to a shift</source>
        <translation>不绑定班次</translation>
    </message>
    <message>
        <source>From</source>
        <translation>开始</translation>
    </message>
    <message>
        <source>To</source>
        <translation>结束</translation>
    </message>
    <message>
        <source>Times are the hall's local time; a night shift runs past midnight.</source>
        <translation>时间为大厅当地时间；夜班跨越午夜。</translation>
    </message>
    <message>
        <source>Bind “{name}” to a schedule</source>
        <translation>将“{name}”绑定到班次</translation>
    </message>
    <message>
        <source>Day shift ({start}–{end})</source>
        <translation>白班（{start}–{end}）</translation>
    </message>
    <message>
        <source>Night shift ({start}–{end})</source>
        <translation>夜班（{start}–{end}）</translation>
    </message>
</context>
<context>
    <name>HallStatusBar</name>
    <message>
        <source>The layout shown and the screen (monitor output) this window is on</source>
        <translation>当前显示的布局，以及本窗口所在的屏幕（显示器输出）</translation>
    </message>
    <message>
        <source>Layout {layout} · screen {screen}</source>
        <translation>布局 {layout} · 屏幕 {screen}</translation>
    </message>
</context>
<context>
    <name>BriefingBar</name>
    <message>
        <source>Masked</source>
        <translation>已脱敏</translation>
    </message>
    <message>
        <source>Names, phone numbers and exact addresses of reporters are hidden on this screen</source>
        <translation>本屏已隐去报告人姓名、电话和详细地址</translation>
    </message>
    <message>
        <source>Paused</source>
        <translation>已暂停</translation>
    </message>
    <message>
        <source>The time does not run: P resumes</source>
        <translation>计时已停止：按 P 继续</translation>
    </message>
    <message>
        <source>Screen of the briefing</source>
        <translation>汇报当前屏 / 总屏数</translation>
    </message>
    <message>
        <source>Time left on this screen</source>
        <translation>本屏剩余时间</translation>
    </message>
</context>
<context>
    <name>BriefingCommands</name>
    <message>
        <source>&amp;Start briefing</source>
        <translation>开始汇报(&amp;S)</translation>
    </message>
    <message>
        <source>Show the briefing of this layout screen by screen, masked, in large type</source>
        <translation>按汇报清单逐屏放映本布局：大字号、已脱敏</translation>
    </message>
    <message>
        <source>S&amp;top briefing</source>
        <translation>结束汇报(&amp;T)</translation>
    </message>
    <message>
        <source>End the briefing and return to the layout shown before</source>
        <translation>结束汇报，回到汇报前的布局</translation>
    </message>
    <message>
        <source>&amp;Next screen</source>
        <translation>下一屏(&amp;N)</translation>
    </message>
    <message>
        <source>Go to the next screen of the briefing</source>
        <translation>切换到汇报的下一屏</translation>
    </message>
    <message>
        <source>&amp;Previous screen</source>
        <translation>上一屏(&amp;P)</translation>
    </message>
    <message>
        <source>Go back to the previous screen of the briefing</source>
        <translation>回到汇报的上一屏</translation>
    </message>
    <message>
        <source>&amp;Pause / resume</source>
        <translation>暂停/继续(&amp;P)</translation>
    </message>
    <message>
        <source>Stop the clock on this screen, or let it run again</source>
        <translation>暂停本屏计时，或恢复计时</translation>
    </message>
    <message>
        <source>&amp;Blank screen</source>
        <translation>黑屏(&amp;B)</translation>
    </message>
    <message>
        <source>Black out every screen; the briefing keeps its place</source>
        <translation>所有屏幕黑屏；汇报保持当前位置</translation>
    </message>
    <message>
        <source>Export &amp;briefing…</source>
        <translation>导出汇报材料(&amp;B)…</translation>
    </message>
    <message>
        <source>Save every screen as PNG and the masked briefing report as PDF</source>
        <translation>将每块屏幕保存为 PNG，并生成已脱敏的汇报 PDF</translation>
    </message>
    <message>
        <source>B&amp;riefing</source>
        <translation>领导汇报(&amp;R)</translation>
    </message>
    <message>
        <source>This layout has no briefing: open a layout with one (the leader briefing preset).</source>
        <translation>本布局没有汇报清单：请打开带汇报清单的布局（如“领导研判大屏”预设）。</translation>
    </message>
    <message>
        <source>The briefing of this layout cannot be used: {error}</source>
        <translation>本布局的汇报清单无法使用：{error}</translation>
    </message>
    <message>
        <source>Screen {position} of the briefing cannot be shown: {error}</source>
        <translation>汇报第 {position} 屏无法显示：{error}</translation>
    </message>
    <message>
        <source>Briefing started: {count} screens, {minutes} min</source>
        <translation>汇报开始：共 {count} 屏，约 {minutes} 分钟</translation>
    </message>
    <message>
        <source>Briefing ended</source>
        <translation>汇报结束</translation>
    </message>
    <message>
        <source>Exporting the briefing…</source>
        <translation>正在导出汇报材料…</translation>
    </message>
    <message>
        <source>Briefing exported: {count} screens and the report in {folder}</source>
        <translation>汇报材料已导出：{count} 张屏幕截图和报告，位于 {folder}</translation>
    </message>
    <message>
        <source>The briefing could not be exported: {error}</source>
        <translation>汇报材料导出失败：{error}</translation>
    </message>
</context>
<context>
    <name>AlarmsModel</name>
    <message>
        <source>Acknowledged by {who}: {comment}</source>
        <translation>已由 {who} 确认：{comment}</translation>
    </message>
    <message>
        <source>Alarm</source>
        <translation>告警</translation>
    </message>
    <message>
        <source>Case</source>
        <translation>案件</translation>
    </message>
    <message>
        <source>Raised</source>
        <translation>发生时间</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Time left</source>
        <translation>剩余时限</translation>
    </message>
    <message>
        <source>Where</source>
        <translation>位置</translation>
    </message>
    <message>
        <source>new</source>
        <translation>未处理</translation>
    </message>
    <message>
        <source>overdue {time}</source>
        <translation>超期 {time}</translation>
    </message>
    <message>
        <source>snoozed until {time}</source>
        <translation>暂缓至 {time}</translation>
    </message>
    <message>
        <source>✓ {who}</source>
        <translation>✓ {who} 已确认</translation>
    </message>
</context>
<context>
    <name>AlarmsPanel</name>
    <message>
        <source>Acknowledge</source>
        <translation>确认</translation>
    </message>
    <message>
        <source>Comment (what was done)…</source>
        <translation>说明（已采取的措施）…</translation>
    </message>
    <message>
        <source>Snooze {n} min</source>
        <translation>暂缓 {n} 分钟</translation>
    </message>
</context>
<context>
    <name>AuditLogPanel</name>
    <message>
        <source>All results</source>
        <translation>全部结果</translation>
    </message>
    <message>
        <source>Everyone</source>
        <translation>所有人</translation>
    </message>
    <message>
        <source>Everything</source>
        <translation>全部时间</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <source>Export audit log</source>
        <translation>导出操作日志</translation>
    </message>
    <message>
        <source>Last 24 hours</source>
        <translation>近 24 小时</translation>
    </message>
    <message>
        <source>Last 7 days</source>
        <translation>近 7 天</translation>
    </message>
    <message>
        <source>Last 8 hours</source>
        <translation>近 8 小时</translation>
    </message>
    <message>
        <source>Last hour</source>
        <translation>近 1 小时</translation>
    </message>
    <message>
        <source>No audit log on this console</source>
        <translation>本席位没有操作日志</translation>
    </message>
    <message>
        <source>Only me</source>
        <translation>仅本人</translation>
    </message>
    <message>
        <source>Search case, officer, reason…</source>
        <translation>搜索案件、操作人、原因…</translation>
    </message>
    <message>
        <source>{n} rows</source>
        <translation>{n} 条</translation>
    </message>
    <message>
        <source>{n} rows exported to {path}</source>
        <translation>已导出 {n} 条到 {path}</translation>
    </message>
</context>
<context>
    <name>AuditModel</name>
    <message>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Case</source>
        <translation>案件</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>详情</translation>
    </message>
    <message>
        <source>Reason</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Who</source>
        <translation>操作人</translation>
    </message>
</context>
<context>
    <name>CaseDetailPanel</name>
    <message>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Attachments: {list}</source>
        <translation>附件：{list}</translation>
    </message>
    <message>
        <source>Cameras nearby: {list}</source>
        <translation>附近监控：{list}</translation>
    </message>
    <message>
        <source>No attachments</source>
        <translation>无附件</translation>
    </message>
    <message>
        <source>No camera within 3 km</source>
        <translation>3 公里内无监控</translation>
    </message>
    <message>
        <source>Note</source>
        <translation>说明</translation>
    </message>
    <message>
        <source>Reporter: {name}　{phone}</source>
        <translation>报告人：{name}　{phone}</translation>
    </message>
    <message>
        <source>Reveal</source>
        <translation>显示（留痕）</translation>
    </message>
    <message>
        <source>Select a case in the queue, the map or the alarms</source>
        <translation>请在案件队列、地图或告警中选择一件案件</translation>
    </message>
    <message>
        <source>Show the reporter's name and phone; the audit log records that you did</source>
        <translation>显示报告人姓名和电话；操作日志会记录您的查看</translation>
    </message>
    <message>
        <source>Shown (logged)</source>
        <translation>已显示（已留痕）</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Time</source>
        <translation>时间</translation>
    </message>
    <message>
        <source>Urgent</source>
        <translation>紧急</translation>
    </message>
    <message>
        <source>Who</source>
        <translation>操作人</translation>
    </message>
    <message>
        <source>assigned to {name}</source>
        <translation>承办：{name}</translation>
    </message>
    <message>
        <source>overdue {time}</source>
        <translation>超期 {time}</translation>
    </message>
    <message>
        <source>supervised ×{n}</source>
        <translation>督办 ×{n}</translation>
    </message>
    <message>
        <source>{time} left</source>
        <translation>剩余 {time}</translation>
    </message>
</context>
<context>
    <name>CaseQueueModel</name>
    <message>
        <source>Age</source>
        <translation>已用时</translation>
    </message>
    <message>
        <source>Assignee</source>
        <translation>承办单位</translation>
    </message>
    <message>
        <source>Blue</source>
        <translation>蓝</translation>
    </message>
    <message>
        <source>Case ID</source>
        <translation>案件编号</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Filed {time} · grid {grid}</source>
        <translation>立案 {time} · 网格 {grid}</translation>
    </message>
    <message>
        <source>My action</source>
        <translation>本席操作</translation>
    </message>
    <message>
        <source>Red</source>
        <translation>红</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
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
        <source>Township / grid</source>
        <translation>乡镇 / 网格</translation>
    </message>
    <message>
        <source>Urgent</source>
        <translation>紧急</translation>
    </message>
    <message>
        <source>Warning</source>
        <translation>预警</translation>
    </message>
    <message>
        <source>Yellow</source>
        <translation>黄</translation>
    </message>
    <message>
        <source>not delivered yet: {error}; retried automatically</source>
        <translation>尚未送达：{error}；将自动重试</translation>
    </message>
    <message>
        <source>overdue {time}</source>
        <translation>超期 {time}</translation>
    </message>
</context>
<context>
    <name>CaseQueuePanel</name>
    <message>
        <source>Blue</source>
        <translation>蓝</translation>
    </message>
    <message>
        <source>Category</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Mute the alarm tones</source>
        <translation>关闭告警提示音</translation>
    </message>
    <message>
        <source>Muted</source>
        <translation>已静音</translation>
    </message>
    <message>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>在办</translation>
    </message>
    <message>
        <source>Overdue</source>
        <translation>已超期</translation>
    </message>
    <message>
        <source>Red</source>
        <translation>红</translation>
    </message>
    <message>
        <source>Save</source>
        <translation>保存</translation>
    </message>
    <message>
        <source>Save filter</source>
        <translation>保存筛选</translation>
    </message>
    <message>
        <source>Save the current filter under a name</source>
        <translation>将当前筛选条件保存为常用筛选</translation>
    </message>
    <message>
        <source>Saved filters…</source>
        <translation>常用筛选…</translation>
    </message>
    <message>
        <source>Search id, title, address, assignee…</source>
        <translation>搜索编号、标题、地址、承办单位…</translation>
    </message>
    <message>
        <source>Seen</source>
        <translation>知道了</translation>
    </message>
    <message>
        <source>Sound on</source>
        <translation>提示音开</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Township</source>
        <translation>乡镇</translation>
    </message>
    <message>
        <source>Warning</source>
        <translation>预警</translation>
    </message>
    <message>
        <source>Yellow</source>
        <translation>黄</translation>
    </message>
    <message>
        <source>j/k move · Enter open · s sign · d dispatch · r return · e supervise · x extend · v verify and close · c call back · a acknowledge</source>
        <translation>j/k 上下 · Enter 打开 · s 签收 · d 派遣 · r 退回 · e 督办 · x 延期 · v 核查结案 · c 回访评价 · a 确认告警</translation>
    </message>
    <message>
        <source>{case}: {n} alarm(s) acknowledged</source>
        <translation>{case}：已确认 {n} 条告警</translation>
    </message>
    <message>
        <source>{shown} of {total}</source>
        <translation>{shown} / 共 {total} 件</translation>
    </message>
</context>
<context>
    <name>DispatchDialog</name>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Choose a body or a unit</source>
        <translation>请选择承办单位或现场力量</translation>
    </message>
    <message>
        <source>Dispatch</source>
        <translation>派遣</translation>
    </message>
    <message>
        <source>Dispatch to: {name} ({level})</source>
        <translation>派遣给：{name}（{level}）</translation>
    </message>
    <message>
        <source>Dispatch {case}</source>
        <translation>派遣 {case}</translation>
    </message>
    <message>
        <source>Distance</source>
        <translation>距离</translation>
    </message>
    <message>
        <source>ETA</source>
        <translation>预计到达</translation>
    </message>
    <message>
        <source>Field units (available first, then by distance)</source>
        <translation>现场力量（空闲优先，按距离）</translation>
    </message>
    <message>
        <source>Level</source>
        <translation>层级</translation>
    </message>
    <message>
        <source>Nearest unit</source>
        <translation>最近力量</translation>
    </message>
    <message>
        <source>Or type another department, township or village</source>
        <translation>或输入其他部门、乡镇或村（社区）</translation>
    </message>
    <message>
        <source>Responsible bodies (by category and area)</source>
        <translation>建议承办（按类别与属地）</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Suggested body</source>
        <translation>建议承办单位</translation>
    </message>
    <message>
        <source>Why</source>
        <translation>依据</translation>
    </message>
    <message>
        <source>{minutes} min</source>
        <translation>{minutes} 分钟</translation>
    </message>
</context>
<context>
    <name>GridStatsPanel</name>
</context>
<context>
    <name>RankingPanel</name>
    <message>
        <source>Export CSV</source>
        <translation>导出 CSV</translation>
    </message>
    <message>
        <source>Export Excel</source>
        <translation>导出 Excel</translation>
    </message>
    <message>
        <source>No cases received in this window.</source>
        <translation>本周期内没有受理案件。</translation>
    </message>
    <message>
        <source>{start} to {end}: {ranked} of {n} ranked (at least {min} cases); score 0-100 from closure, on-time, satisfaction, overdue, repeats, handling time</source>
        <translation>{start} 至 {end}：{n} 个对象中 {ranked} 个参与排名（至少 {min} 件）；综合得分 0–100，由结案率、按时率、满意度、超期、重复投诉、处置时长计算</translation>
    </message>
    <message>
        <source>; {n} cases not attributed at this level</source>
        <translation>；{n} 件案件无法归属到此层级</translation>
    </message>
</context>
<context>
    <name>HotTopicsPanel</name>
    <message>
        <source>Newest “{keyword}” case: {text}</source>
        <translation>最新“{keyword}”案件：{text}</translation>
    </message>
    <message>
        <source>{window}: {n} keywords, {bursts} rising sharply against the week before (▲); heat weighs newer cases more. Click a row to see its cases on the map.</source>
        <translation>{window}：{n} 个热词，其中 {bursts} 个较前一周明显突增（▲）；热度按时间衰减，越新权重越高。点击一行在地图上查看案件。</translation>
    </message>
    <message>
        <source>Repeat complaints (same place and category, 7 days): {n}</source>
        <translation>重复投诉（同一地点同一类别，7 天内）：{n} 处</translation>
    </message>
</context>
<context>
    <name>TrendsPanel</name>
    <message>
        <source>per hour</source>
        <translation>每小时</translation>
    </message>
    <message>
        <source>per day</source>
        <translation>每天</translation>
    </message>
    <message>
        <source>Solid: this period; dashed: the same period last week. The last point is still running and is compared with last week up to the same minute.</source>
        <translation>实线为本期，虚线为上周同期。最后一个时段尚未结束，与上周同期比较到同一分钟。</translation>
    </message>
    <message>
        <source>Filed {unit}: {now} (same period last week {last}, {change})</source>
        <translation>受理量（{unit}）：{now} 件（上周同期 {last}，{change}）</translation>
    </message>
    <message>
        <source>Closed {unit}: {now} (same period last week {last}, {change})</source>
        <translation>结案量（{unit}）：{now} 件（上周同期 {last}，{change}）</translation>
    </message>
    <message>
        <source>Overdue now: {now} (a week ago {last})</source>
        <translation>当前超期：{now} 件（一周前 {last}）</translation>
    </message>
</context>
<context>
    <name>TrendsPanel</name>
    <message>
        <source>Filed {unit}: {now} (same period last week: not enough data)</source>
        <translation>受理量（{unit}）：{now} 件（上周同期：数据不足）</translation>
    </message>
    <message>
        <source>Closed {unit}: {now} (same period last week: not enough data)</source>
        <translation>结案量（{unit}）：{now} 件（上周同期：数据不足）</translation>
    </message>
    <message>
        <source>Overdue now: {now} (a week ago: not enough data)</source>
        <translation>当前超期：{now} 件（一周前：数据不足）</translation>
    </message>
    <message>
        <source>The data held does not cover the same period last week (fewer than {n} cases filed then), so no comparison is drawn. The last point is still running.</source>
        <translation>现有数据未覆盖上周同期（当时受理不足 {n} 件），不作同比、不画虚线。最后一个时段尚未结束。</translation>
    </message>
</context>
<context>
    <name>HotTopicsPanel</name>
    <message>
        <source>{window}: {n} keywords by heat (newer cases weigh more). Not enough baseline: the data held does not cover the week before, so bursts are not judged. Click a row to see its cases on the map.</source>
        <translation>{window}：{n} 个热词，按热度排序（越新权重越高）。基线不足：现有数据未覆盖前一周，暂不判断突增。点击一行在地图上查看案件。</translation>
    </message>
</context>
<context>
    <name>GridStatsPanel</name>
    <message>
        <source>{grids} grids: morning patrol due by {morning}, done in {once}; {patrols} patrols today, {events} events reported</source>
        <translation>共 {grids} 个网格：上午应巡（{morning} 前）已巡 {once} 个；今日巡查 {patrols} 次，上报事件 {events} 件</translation>
    </message>
    <message>
        <source>{grids} grids: morning patrol due, done in {once} ({behind} behind); second patrol due by {afternoon}, done in {met}; {events} events reported</source>
        <translation>共 {grids} 个网格：上午应巡已巡 {once} 个（{behind} 个未巡）；下午应巡（{afternoon} 前）已巡 {met} 个；上报事件 {events} 件</translation>
    </message>
    <message>
        <source>{grids} grids: twice-daily patrols due, done in {met} ({behind} behind); {patrols} patrols today, {events} events reported</source>
        <translation>共 {grids} 个网格：一日双巡已完成 {met} 个（{behind} 个未完成）；今日巡查 {patrols} 次，上报事件 {events} 件</translation>
    </message>
</context>
</TS>
