// extension.ts: the heartwire VSCode extension: a tree of sessions by project, a status bar
// item with the counts, a notification when a session is lost or crashed, and a "Resume"
// action that runs `heartwire-agent resume SESSION` in a terminal. The broker password is kept
// in VSCode's secret storage ("heartwire: Set broker password").
import * as vscode from 'vscode';

import {HeartwireClient} from './client';
import {RECOVERABLE_STATES, SessionDocument, SessionState} from './types';
import {
	ProjectNode, alertNotification, needsAttention, projectTree, resumeCommandLine, sessionDescription, statusText
} from './view';

const SECRET = 'heartwire.password';
type Node = ProjectNode | {kind: 'session'; doc: SessionDocument};

const STATE_COLOR: Record<SessionState, string> = {
	starting: 'charts.blue', active: 'charts.green', idle: 'charts.blue', recovering: 'charts.purple',
	stalled: 'charts.yellow', lost: 'charts.orange', crashed: 'charts.red', completed: 'disabledForeground',
	failed: 'errorForeground', cleared: 'disabledForeground'
};
const STATE_ICON: Record<SessionState, string> = {
	starting: 'loading~spin', active: 'pulse', idle: 'circle-outline', recovering: 'sync', stalled: 'warning',
	lost: 'debug-disconnect', crashed: 'error', completed: 'pass', failed: 'circle-slash', cleared: 'clear-all'
};

class SessionTree implements vscode.TreeDataProvider<Node> {
	private readonly changed = new vscode.EventEmitter<Node | undefined>();
	readonly onDidChangeTreeData = this.changed.event;
	client: HeartwireClient | null = null;

	refresh(): void {
		this.changed.fire(undefined);
	}

	getChildren(node?: Node): Node[] {
		if(!this.client) return [];
		if(!node) return projectTree(this.client.sessions());
		if(node.kind === 'project') return node.sessions.map((doc) => ({kind: 'session', doc}));
		return [];
	}

	getTreeItem(node: Node): vscode.TreeItem {
		if(node.kind === 'project'){
			const item = new vscode.TreeItem(node.project || '(no project)', vscode.TreeItemCollapsibleState.Expanded);
			item.description = `${node.live} live` + (node.attention ? ` · ${node.attention} need attention` : '');
			item.iconPath = new vscode.ThemeIcon(node.attention ? 'warning' : 'project',
				node.attention ? new vscode.ThemeColor('charts.orange') : undefined);
			item.contextValue = 'project';
			return item;
		}
		const d = node.doc;
		const item = new vscode.TreeItem(d.session, vscode.TreeItemCollapsibleState.None);
		item.description = sessionDescription(d, Date.now());
		item.iconPath = new vscode.ThemeIcon(STATE_ICON[d.state], new vscode.ThemeColor(STATE_COLOR[d.state]));
		item.contextValue = RECOVERABLE_STATES.has(d.state) ? 'session.recoverable' : 'session';
		const md = new vscode.MarkdownString();
		md.appendMarkdown(`**${d.session}** — ${d.state}${d.cause !== 'none' ? ` (${d.cause})` : ''}\n\n`);
		md.appendText(`machine ${d.machine}${d.slot ? ', slot ' + d.slot : ''}, run ${d.run}, epoch ${d.epoch}\n`);
		if(d.task) md.appendText(`task: ${d.task}\n`);
		if(d.cwd) md.appendText(`cwd: ${d.cwd}\n`);
		if(d.claude?.sid) md.appendText(`claude session: ${d.claude.sid}\n`);
		if(d.exit) md.appendText(`exit: ${d.exit.signal != null ? 'signal ' + d.exit.signal : 'code ' + d.exit.code}\n`);
		item.tooltip = md;
		return item;
	}
}

export function activate(context: vscode.ExtensionContext): void {
	const tree = new SessionTree();
	const view = vscode.window.createTreeView('heartwire.sessions', {treeDataProvider: tree, showCollapseAll: true});
	const status = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Left, 50);
	status.command = 'heartwire.sessions.focus';
	status.text = '$(pulse) heartwire';
	status.show();
	const output = vscode.window.createOutputChannel('heartwire');
	let client: HeartwireClient | null = null;

	const updateStatus = () => {
		if(!client || !client.connected){
			status.text = '$(debug-disconnect) heartwire: offline';
			status.backgroundColor = undefined;
			return;
		}
		const counts = client.counts();
		status.text = `$(pulse) ${statusText(counts)}`;
		status.backgroundColor = needsAttention(counts) ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
		status.tooltip = `heartwire ${client.root}${client.getProject() ? ' · project ' + client.getProject() : ''}`;
	};
	let pendingRefresh: NodeJS.Timeout | null = null;
	const refresh = () => {
		if(pendingRefresh) return;
		pendingRefresh = setTimeout(() => {
			pendingRefresh = null;
			tree.refresh();
			updateStatus();
		}, 100);
	};

	const connect = async () => {
		if(client){
			await client.close().catch(() => undefined);
			client = null;
		}
		const cfg = vscode.workspace.getConfiguration('heartwire');
		const password = await context.secrets.get(SECRET);
		const c = new HeartwireClient({url: cfg.get<string>('broker', 'mqtt://127.0.0.1:1883'),
			root: cfg.get<string>('topicRoot', 'heartwire/v1'), username: cfg.get<string>('username') || undefined,
			password: password || undefined, cafile: cfg.get<string>('cafile') || undefined,
			project: cfg.get<string>('project') || undefined});
		client = c;
		tree.client = c;
		c.on('session', refresh);
		c.on('removed', refresh);
		c.on('connect', refresh);
		c.on('offline', refresh);
		c.on('error', (e) => output.appendLine(`error: ${e.message}`));
		c.on('alert', (a) => {
			output.appendLine(`${new Date(a.at).toISOString()} alert ${a.alert}: ${a.session} ${a.from} -> ${a.state}/${a.cause}`);
			const n = alertNotification(a, vscode.workspace.getConfiguration('heartwire').get<string[]>('notify'));
			if(!n) return;
			const actions = n.resumable ? ['Resume', 'Show'] : ['Show'];
			void vscode.window.showWarningMessage(n.text, ...actions).then((pick) => {
				if(pick === 'Resume') void vscode.commands.executeCommand('heartwire.resume', a.session);
				if(pick === 'Show') void vscode.commands.executeCommand('heartwire.sessions.focus');
			});
		});
		try{
			await c.connect();
			output.appendLine(`connected to ${cfg.get('broker')} as ${c.clientId}`);
		}catch(e){
			output.appendLine(`cannot connect: ${(e as Error).message}`);
			const pick = await vscode.window.showErrorMessage(`heartwire: ${(e as Error).message}`, 'Set password', 'Settings');
			if(pick === 'Set password') void vscode.commands.executeCommand('heartwire.setPassword');
			if(pick === 'Settings') void vscode.commands.executeCommand('workbench.action.openSettings', 'heartwire');
		}
		refresh();
	};

	// The tree's "hb N s ago" descriptions age: refresh them every few seconds.
	const ticker = setInterval(() => {
		if(client?.connected && view.visible) tree.refresh();
	}, 5000);

	context.subscriptions.push(view, status, output, {dispose: () => clearInterval(ticker)},
		{dispose: () => void client?.close()},
		vscode.commands.registerCommand('heartwire.resume', (arg?: string | Node) => {
			const id = typeof arg === 'string' ? arg : arg && arg.kind === 'session' ? arg.doc.session : undefined;
			if(!id){
				void vscode.window.showInformationMessage('heartwire: choose a lost, crashed or stalled session to resume');
				return;
			}
			let line: string;
			try{
				line = resumeCommandLine(id, vscode.workspace.getConfiguration('heartwire').get<string>('agentPath', 'heartwire-agent'));
			}catch(e){
				void vscode.window.showErrorMessage(`heartwire: ${(e as Error).message}`);
				return;
			}
			const d = client?.session(id);
			const term = vscode.window.createTerminal({name: `heartwire resume ${id}`, cwd: d?.cwd || undefined});
			term.show();
			term.sendText(line);
		}),
		vscode.commands.registerCommand('heartwire.reconnect', connect),
		vscode.commands.registerCommand('heartwire.setPassword', async () => {
			const pw = await vscode.window.showInputBox({prompt: 'heartwire broker password', password: true,
				ignoreFocusOut: true});
			if(pw === undefined) return;
			await context.secrets.store(SECRET, pw);
			await connect();
		}),
		vscode.commands.registerCommand('heartwire.filterProject', async () => {
			if(!client) return;
			const all = '$(list-flat) all projects';
			const pick = await vscode.window.showQuickPick([all, ...client.projects().filter(Boolean)],
				{placeHolder: 'Show the sessions of'});
			if(pick === undefined) return;
			client.setProject(pick === all ? undefined : pick);
			refresh();
		}),
		vscode.workspace.onDidChangeConfiguration((e) => {
			if(e.affectsConfiguration('heartwire')) void connect();
		}));
	void connect();
}

export function deactivate(): void {
	// Disposables registered in activate() close the client.
}
